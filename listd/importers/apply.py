"""Create an imported list through the operations every door uses (lists, members)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from listd import audit, lists, members
from listd.config import Config
from listd.errors import UserError
from listd.importers.model import ImportedList, ImportedMember
from listd.models import MailingList, Role


@dataclass
class ImportOutcome:
    address: str
    owners: int = 0
    moderators: int = 0
    subscribers: int = 0
    settings: list[str] = field(default_factory=list)
    report: list[str] = field(default_factory=list)


def create_imported_list(session: Session, config: Config, imported: ImportedList,
                         actor: str = audit.CLI_ACTOR) -> ImportOutcome:
    """The list, active (the listmaster runs the import), with its people and settings."""
    owners = imported.with_role(Role.OWNER)
    if not owners:
        raise UserError(f"{imported.address}: the imported list names no owner")
    mailing_list = lists.request_list(session, config, imported.address,
                                      [o.address for o in owners], subject=imported.subject,
                                      requested_by=actor)
    outcome = ImportOutcome(mailing_list.address, report=list(imported.unmapped))
    for key, value in imported.settings.items():
        _apply_setting(session, mailing_list, key, value, actor, outcome)
    for member in imported.members:
        _add(session, config, mailing_list, member, actor, outcome)
    # Approved once filled: a list being set up tells its owners of no arrival.
    lists.approve_list(session, mailing_list.address, actor)
    return outcome


def _apply_setting(session: Session, mailing_list: MailingList, key: str, value: object,
                   actor: str, outcome: ImportOutcome) -> None:
    try:
        lists.set_list_setting(session, mailing_list.address, key, value, actor)
    except UserError as exc:
        outcome.report.append(f"{key} {value}: not applied: {exc}")
        return
    outcome.settings.append(f"{key}={value}")


def _add(session: Session, config: Config, mailing_list: MailingList, member: ImportedMember,
         actor: str, outcome: ImportOutcome) -> None:
    try:
        if member.role is Role.OWNER:
            found = members.find_member(session, mailing_list, member.address, Role.OWNER)
            if found is not None:
                members.update_member(session, mailing_list, found, name=member.name,
                                      actor=actor)
        else:
            members.add_member(session, mailing_list, member.address, member.name,
                               member.role, actor, member.delivery, robot=config.robot)
    except UserError as exc:
        outcome.report.append(f"{member.role.value} {member.address}: not added: {exc}")
        return
    counts = {Role.OWNER: "owners", Role.MODERATOR: "moderators",
              Role.SUBSCRIBER: "subscribers"}
    name = counts[member.role]
    setattr(outcome, name, getattr(outcome, name) + 1)
