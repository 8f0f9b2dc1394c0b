"""List lifecycle: request, approval by a listmaster, settings, closing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from listd import audit, list_texts
from listd.addresses import RESERVED_SUFFIXES, normalize_address, split_list_address
from listd.clock import utcnow
from listd.config import Config
from listd.errors import AlreadyExists, NotFound, UserError
from listd.i18n import N_, Term
from listd.list_templates import load_template
from listd.members import addresses_with_role
from listd.models import (
    Domain,
    HeldMessage,
    InboundMessage,
    ListStatus,
    MailingList,
    Member,
    OutboundMessage,
    Role,
)
from listd.settings import COLUMN_SETTINGS, ListSettings, parse_setting

LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# Local-part suffixes that address a list's robot, owners, bounces…; a list name ending in
# one would make its own addresses ambiguous.


def ensure_domain(session: Session, name: str) -> Domain:
    name = name.strip().lower()
    domain = session.scalar(select(Domain).where(Domain.name == name))
    if domain is None:
        domain = Domain(name=name)
        session.add(domain)
        session.flush()
    return domain


def add_domain(session: Session, name: str) -> Domain:
    name = name.strip().lower()
    try:
        normalize_address(f"postmaster@{name}")
    except UserError:
        raise UserError(N_("invalid domain name {name}"), name=repr(name)) from None
    if session.scalar(select(Domain).where(Domain.name == name)) is not None:
        raise AlreadyExists(N_("domain {domain} already exists"), domain=name)
    return ensure_domain(session, name)


def served_domains(session: Session, config: Config) -> set[str]:
    return set(config.domains) | set(session.scalars(select(Domain.name)))


def find_list(session: Session, address: str) -> MailingList:
    name, domain = split_list_address(address)
    found = session.scalar(
        select(MailingList).join(Domain).where(MailingList.name == name, Domain.name == domain))
    if found is None:
        raise NotFound(N_("no list {list}"), list=f"{name}@{domain}")
    return found


def all_lists(session: Session, statuses: Sequence[ListStatus] | None = None
              ) -> list[MailingList]:
    query = select(MailingList).join(Domain).order_by(Domain.name, MailingList.name)
    if statuses:
        query = query.where(MailingList.status.in_(statuses))
    return list(session.scalars(query))


def request_list(session: Session, config: Config, address: str, owners: Iterable[str],
                 template: str = "discussion", subject: str = "",
                 requested_by: str = audit.CLI_ACTOR) -> MailingList:
    """Create a list in the pending state; it refuses all mail until a listmaster approves it."""
    name, domain_name = split_list_address(address)
    if not LIST_NAME.match(name) or name.endswith(RESERVED_SUFFIXES) or name == config.robot:
        raise UserError(N_("invalid list name {name}: use lowercase letters, digits, '.', '_' "
                           "or '-', not ending in {suffixes}"),
                        name=repr(name), suffixes=", ".join(RESERVED_SUFFIXES))
    if domain_name not in served_domains(session, config):
        raise UserError(N_("domain {domain} is not served by listd (add it with "
                           "'listd domain add {domain}')"), domain=domain_name)
    owner_addresses = sorted({normalize_address(o) for o in owners})
    if not owner_addresses:
        raise UserError(N_("a list needs at least one owner"))
    chosen = load_template(config.list_templates_dir, template)
    domain = ensure_domain(session, domain_name)
    existing = session.scalar(select(MailingList).where(MailingList.domain_id == domain.id,
                                                        MailingList.name == name))
    if existing is not None and existing.status is ListStatus.REJECTED:
        # A refused request holds nothing anyone wants: the name is free to ask for again.
        delete_list(session, existing.address, requested_by)
    elif existing is not None:
        raise AlreadyExists(N_("list {list} already exists"), list=f"{name}@{domain_name}")
    mailing_list = MailingList(name=name, domain=domain, template=template,
                               subject=subject,
                               description=chosen.description,
                               language=config.language, settings=dict(chosen.settings),
                               status=ListStatus.PENDING, requested_by=requested_by)
    session.add(mailing_list)
    session.flush()
    for owner in owner_addresses:
        session.add(Member(list_id=mailing_list.id, address=owner, role=Role.OWNER))
    audit.record(session, requested_by, "list.requested", mailing_list,
                 template=template, owners=owner_addresses)
    return mailing_list


def _transition(session: Session, address: str, allowed_from: Sequence[ListStatus],
                to: ListStatus, actor: str) -> MailingList:
    mailing_list = find_list(session, address)
    if mailing_list.status not in allowed_from:
        raise UserError(N_("list {list} is {status}; cannot make it {to}"),
                        list=mailing_list.address, status=Term(mailing_list.status.value),
                        to=Term(to.value))
    mailing_list.status = to
    if to is ListStatus.ACTIVE:
        mailing_list.approved_at = utcnow()
    audit.record(session, actor, f"list.{to.value}", mailing_list)
    return mailing_list


def approve_list(session: Session, address: str, actor: str = audit.CLI_ACTOR) -> MailingList:
    return _transition(session, address, (ListStatus.PENDING,), ListStatus.ACTIVE, actor)


def reject_list(session: Session, address: str, actor: str = audit.CLI_ACTOR) -> MailingList:
    return _transition(session, address, (ListStatus.PENDING,), ListStatus.REJECTED, actor)


def close_list(session: Session, address: str, actor: str = audit.CLI_ACTOR) -> MailingList:
    return _transition(session, address, (ListStatus.ACTIVE, ListStatus.PENDING),
                       ListStatus.CLOSED, actor)


def reopen_list(session: Session, address: str, actor: str = audit.CLI_ACTOR) -> MailingList:
    return _transition(session, address, (ListStatus.CLOSED,), ListStatus.ACTIVE, actor)


@dataclass(frozen=True)
class ListContents:
    """What deleting a list takes with it."""

    address: str
    members: int
    held: int
    queued: int
    inbound: int

    def describe(self) -> str:
        return (f"{self.members} members, {self.held} held posts and {self.queued} queued "
                f"mails")


def list_contents(session: Session, address: str) -> ListContents:
    mailing_list = find_list(session, address)

    def count(model: Any) -> int:
        return session.scalar(select(func.count()).select_from(model)
                              .where(model.list_id == mailing_list.id)) or 0

    return ListContents(mailing_list.address, count(Member), count(HeldMessage),
                        count(OutboundMessage), count(InboundMessage))


def delete_list(session: Session, address: str, actor: str = audit.CLI_ACTOR,
                purge: bool = False) -> ListContents:
    """Delete a list with its members, held posts, pending actions and outbound queue.

    The record of what arrived (inbound messages) and the audit log are kept, detached from
    the list, unless PURGE: then the arrivals go too.
    """
    contents = list_contents(session, address)
    mailing_list = find_list(session, address)
    session.execute(delete(OutboundMessage).where(OutboundMessage.list_id == mailing_list.id))
    if purge:
        session.execute(delete(InboundMessage).where(InboundMessage.list_id == mailing_list.id))
    audit.record(session, actor, "list.deleted", None, contents.address, purge=purge,
                 members=contents.members, held=contents.held, queued=contents.queued)
    list_id = mailing_list.id
    session.expunge(mailing_list)
    # The database's ON DELETE CASCADE takes members, held posts, patterns, pending actions.
    session.execute(delete(MailingList).where(MailingList.id == list_id))
    return contents


def set_list_setting(session: Session, address: str, key: str, value: Any,
                     actor: str = audit.CLI_ACTOR) -> MailingList:
    mailing_list = find_list(session, address)
    parsed = parse_setting(key, value)
    if key in COLUMN_SETTINGS:
        setattr(mailing_list, key, parsed)
    else:
        # A new dict, so the JSON column is seen as changed.
        mailing_list.settings = {**(mailing_list.settings or {}), key: parsed}
    audit.record(session, actor, "list.set", mailing_list, key=key, value=parsed)
    return mailing_list


def set_list_text(session: Session, address: str, name: str, text: str | None,
                  actor: str = audit.CLI_ACTOR) -> MailingList:
    """Keep TEXT as list ADDRESS's text NAME (None: back to listd's own), once checked."""
    mailing_list = find_list(session, address)
    texts = dict((mailing_list.settings or {}).get(list_texts.SETTINGS_KEY) or {})
    if text is None:
        list_texts.editable(name)
        texts.pop(name, None)
    else:
        texts[name] = list_texts.check(name, text)
    # A new dict, so the JSON column is seen as changed.
    mailing_list.settings = {**(mailing_list.settings or {}), list_texts.SETTINGS_KEY: texts}
    audit.record(session, actor, "list.text", mailing_list, name=name,
                 reset=text is None, off=text is not None and not texts[name])
    return mailing_list


def describe_list(session: Session, mailing_list: MailingList) -> dict[str, Any]:
    counts = dict(session.execute(
        select(Member.role, func.count()).where(Member.list_id == mailing_list.id)
        .group_by(Member.role)).all())
    owners = addresses_with_role(session, mailing_list, Role.OWNER)
    settings = ListSettings.of(mailing_list)
    return {
        "address": mailing_list.address,
        "status": mailing_list.status.value,
        "template": mailing_list.template,
        "subject": mailing_list.subject,
        "description": mailing_list.description,
        "language": mailing_list.language,
        "owners": list(owners),
        "subscribers": counts.get(Role.SUBSCRIBER, 0),
        "moderators": counts.get(Role.MODERATOR, 0),
        "requested_by": mailing_list.requested_by,
        "created_at": mailing_list.created_at.isoformat(timespec="seconds"),
        "settings": {**{name: getattr(settings, name)
                        for name in settings.__dataclass_fields__},
                     # The prefix posts get, not the stored "default" (None).
                     "subject_prefix": settings.prefix_for(mailing_list.name)},
    }


Transition = Callable[[Session, str], MailingList]
