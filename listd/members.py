"""Membership: adding, removing, listing and bulk-importing the people on a list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from listd import audit
from listd.addresses import InvalidAddress, normalize_address
from listd.bounce.scoring import restore
from listd.clock import utcnow
from listd.delivery_modes import SERVED, UnservedDeliveryMode
from listd.errors import AlreadyExists, NotFound, UserError
from listd.models import DeliveryMode, MailingList, Member, MemberStatus, Role

IMPORT_BATCH = 5000


def find_member(session: Session, mailing_list: MailingList, address: str,
                role: Role = Role.SUBSCRIBER) -> Member | None:
    return session.scalar(select(Member).where(
        Member.list_id == mailing_list.id, Member.address == address, Member.role == role))


def add_member(session: Session, mailing_list: MailingList, address: str, name: str = "",
               role: Role = Role.SUBSCRIBER, actor: str = audit.CLI_ACTOR) -> Member:
    normalized = normalize_address(address)
    if find_member(session, mailing_list, normalized, role) is not None:
        raise AlreadyExists(f"{normalized} is already {role.value} of {mailing_list.address}")
    member = Member(list_id=mailing_list.id, address=normalized, display_name=name.strip(),
                    role=role)
    session.add(member)
    session.flush()
    audit.record(session, actor, "member.added", mailing_list, normalized, role=role.value)
    return member


def remove_member(session: Session, mailing_list: MailingList, address: str,
                  role: Role = Role.SUBSCRIBER, actor: str = audit.CLI_ACTOR) -> None:
    normalized = normalize_address(address)
    member = find_member(session, mailing_list, normalized, role)
    if member is None:
        raise NotFound(f"{normalized} is not {role.value} of {mailing_list.address}")
    if role is Role.OWNER and count_role(session, mailing_list, Role.OWNER) == 1:
        raise UserError(f"{normalized} is the last owner of {mailing_list.address}; "
                        "add another owner first")
    session.delete(member)
    audit.record(session, actor, "member.removed", mailing_list, normalized, role=role.value)


def set_delivery_mode(session: Session, mailing_list: MailingList, address: str,
                      mode: DeliveryMode, actor: str = audit.CLI_ACTOR) -> Member:
    """Put subscriber ADDRESS of MAILING_LIST in MODE, which must be one listd serves."""
    if mode not in SERVED:
        raise UnservedDeliveryMode(mode)
    normalized = normalize_address(address)
    member = find_member(session, mailing_list, normalized)
    if member is None:
        raise NotFound(f"{normalized} is not subscriber of {mailing_list.address}")
    member.delivery_mode = mode
    if mode is DeliveryMode.MAIL and member.bounce_suspended_at is not None:
        # Asking for mail again is how a member ends a bounce suspension (Mailman does too).
        restore(member)
    audit.record(session, actor, "member.set", mailing_list, normalized,
                 delivery_mode=mode.value)
    return member


def count_role(session: Session, mailing_list: MailingList, role: Role) -> int:
    return session.scalar(select(func.count()).where(
        Member.list_id == mailing_list.id, Member.role == role)) or 0


def list_members(session: Session, mailing_list: MailingList,
                 role: Role | None = None) -> list[Member]:
    query = select(Member).where(Member.list_id == mailing_list.id)
    if role is not None:
        query = query.where(Member.role == role)
    return list(session.scalars(query.order_by(Member.role, Member.address)))


def describe_member(member: Member) -> dict[str, object]:
    return {
        "address": member.address,
        "name": member.display_name,
        "role": member.role.value,
        "delivery": member.delivery_mode.value,
        "status": member.status.value,
        "bounce_score": member.bounce_score,
        "subscribed_at": member.subscribed_at.isoformat(timespec="seconds"),
    }


@dataclass
class ImportReport:
    added: int = 0
    already_members: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)


def parse_import_line(line: str) -> tuple[str, str] | None:
    """One line of Sympa's bulk format, `address Full Name`; None for blank and comment lines."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    address, _, name = text.partition(" ")
    return address, name.strip()


def import_members(session: Session, mailing_list: MailingList, lines: Iterable[str],
                   role: Role = Role.SUBSCRIBER, actor: str = audit.CLI_ACTOR) -> ImportReport:
    """Add every valid address; report each refused line with its number and the reason."""
    report = ImportReport()
    existing = set(session.scalars(select(Member.address).where(
        Member.list_id == mailing_list.id, Member.role == role)))
    batch: list[dict[str, object]] = []
    now = utcnow()
    for number, line in enumerate(lines, start=1):
        parsed = parse_import_line(line)
        if parsed is None:
            continue
        raw_address, name = parsed
        try:
            address = normalize_address(raw_address)
        except InvalidAddress as exc:
            report.refused.append((number, line.rstrip("\n"), str(exc)))
            continue
        if address in existing:
            report.already_members += 1
            continue
        existing.add(address)
        batch.append({"list_id": mailing_list.id, "address": address, "display_name": name,
                      "role": role, "delivery_mode": DeliveryMode.MAIL,
                      "status": MemberStatus.ENABLED, "bounce_score": 0.0,
                      "bounce_warnings": 0, "subscribed_at": now})
        if len(batch) >= IMPORT_BATCH:
            report.added += _flush(session, batch)
    report.added += _flush(session, batch)
    audit.record(session, actor, "member.imported", mailing_list, None, added=report.added,
                 refused=len(report.refused), already_members=report.already_members)
    return report


def _flush(session: Session, batch: list[dict[str, object]]) -> int:
    if not batch:
        return 0
    # Core, not ORM: the ORM's bulk path costs more than the insert itself at this size.
    session.execute(cast(Table, Member.__table__).insert(), batch)
    count = len(batch)
    batch.clear()
    return count


def remove_all(session: Session, mailing_list: MailingList) -> None:
    session.execute(delete(Member).where(Member.list_id == mailing_list.id))


def addresses_with_role(session: Session, mailing_list: MailingList, role: Role) -> list[str]:
    return list(session.scalars(select(Member.address).where(
        Member.list_id == mailing_list.id, Member.role == role).order_by(Member.address)))
