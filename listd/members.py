"""Membership: adding, removing, listing and bulk-importing the people on a list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, exists, func, insert, select, text, tuple_
from sqlalchemy.orm import Session

from listd import audit, suppression
from listd.addresses import InvalidAddress, is_scheme_address, normalize_address
from listd.attached import attached
from listd.bounce.scoring import restore
from listd.clock import utcnow
from listd.delivery_modes import SERVED, UnservedDeliveryMode
from listd.errors import AlreadyExists, NotFound, UserError
from listd.i18n import N_, Term
from listd.models import (
    DeliveryMode,
    Domain,
    MailingList,
    Member,
    MemberStatus,
    Role,
    Suppression,
)

IMPORT_BATCH = 5000
# An import that adds this many members refreshes PostgreSQL's statistics of the table.
ANALYZE_AFTER = 10_000
# The robot's local part when the caller has no config at hand (config.robot's default).
DEFAULT_ROBOT = "listd"
# Refusals a command's reply may quote, in the list's language ({role}: a catalog word).
OWN_ADDRESS = N_("{address} is one of listd's own addresses and cannot be a member of a list")
ALREADY = N_("{address} is already {role} of {list}")
NOT_MEMBER = N_("{address} is not {role} of {list}")
LAST_OWNER = N_("{address} is the last owner of {list}; add another owner first")


_MEMBERS = cast(Table, Member.__table__)
_SUPPRESSIONS = cast(Table, Suppression.__table__)
_DOMAINS = cast(Table, Domain.__table__)
# Built once, as they are run for every subscription: building a statement costs more than
# SQLite takes to run it.
_FIND = select(Member).where(Member.list_id == bindparam("list_id"),
                             Member.address == bindparam("address"),
                             Member.role == bindparam("role"))
# Core, every column back: the new row's defaults (its time) are the columns' own.
_INSERT = insert(_MEMBERS).returning(*_MEMBERS.c)
# What adding an address depends on, in one SELECT instead of three.
_ADDITION = select(
    select(_MEMBERS.c.id).where(_MEMBERS.c.list_id == bindparam("list_id"),
                                _MEMBERS.c.address == bindparam("address"),
                                _MEMBERS.c.role == bindparam("role"))
    .scalar_subquery().label("member_id"),
    exists().where(_SUPPRESSIONS.c.address == bindparam("address")).label("suppressed"),
    exists().where(_DOMAINS.c.name == bindparam("domain")).label("served"))


def find_member(session: Session, mailing_list: MailingList, address: str,
                role: Role = Role.SUBSCRIBER) -> Member | None:
    return session.scalar(_FIND, {"list_id": mailing_list.id, "address": address,
                                  "role": role})


@dataclass(frozen=True)
class Addition:
    """What adding ADDRESS as ROLE of a list depends on, read in one statement."""

    list_id: int
    address: str
    role: Role
    # The membership ADDRESS has already, if it has.
    member_id: int | None
    # On the site's suppression list: added only with the person's new consent.
    suppressed: bool
    # In a domain listd serves, so perhaps one of listd's own addresses (own_addresses).
    served: bool

    def of(self, mailing_list: MailingList, address: str, role: Role) -> bool:
        return (self.list_id, self.address, self.role) == (mailing_list.id, address, role)


def addition(session: Session, mailing_list: MailingList, address: str,
             role: Role = Role.SUBSCRIBER) -> Addition:
    """What adding ADDRESS (normalized) as ROLE depends on, as the database holds it now."""
    session.flush()  # a member or suppression not yet written counts (Core does not flush)
    domain = address.rpartition("@")[2]
    row = session.execute(_ADDITION, {"list_id": mailing_list.id, "address": address,
                                      "role": role, "domain": domain}).one()
    return Addition(mailing_list.id, address, role, row.member_id, bool(row.suppressed),
                    bool(row.served) or domain == mailing_list.domain.name)


def add_member(session: Session, mailing_list: MailingList, address: str, name: str = "",
               role: Role = Role.SUBSCRIBER, actor: str = audit.CLI_ACTOR,
               delivery: DeliveryMode = DeliveryMode.MAIL, robot: str = DEFAULT_ROBOT, *,
               force: bool = False, checked: Addition | None = None) -> Member:
    """Add ADDRESS; a suppressed subscriber only with FORCE (the person's new consent).

    CHECKED: what addition() read for this address in this transaction just before, when the
    caller needed it already (so it is not read twice)."""
    normalized = normalize_address(address)
    facts = checked if checked is not None and checked.of(mailing_list, normalized, role) \
        else addition(session, mailing_list, normalized, role)
    if facts.served and own_addresses(session, mailing_list, robot)(normalized):
        raise UserError(OWN_ADDRESS, address=normalized)
    if facts.member_id is not None:
        raise AlreadyExists(ALREADY, address=normalized, role=Term(role.value),
                            list=mailing_list.address)
    if role is Role.SUBSCRIBER and facts.suppressed:
        suppression.check_addable(session, normalized, force=force, actor=actor)
    row = session.execute(_INSERT, {
        "list_id": mailing_list.id, "address": normalized, "display_name": name.strip(),
        "role": role, "delivery_mode": delivery}).mappings().one()
    member = attached(session, Member, row)
    audit.record(session, actor, "member.added", mailing_list, normalized, role=role.value)
    return member


def own_addresses(session: Session, mailing_list: MailingList,
                  robot: str = DEFAULT_ROBOT) -> Callable[[str], bool]:
    """Whether an address is one of listd's own: a list, its -owner@, -bounces+…@, the robot.

    Such an address is never a member: each copy would come back to listd as a post, a
    command or a bounce (a list made a member of itself is a loop).
    """
    served = set(session.scalars(select(Domain.name))) | {mailing_list.domain.name}
    names: dict[str, set[str]] = {}

    def lists_in(domain: str) -> set[str]:
        if domain not in names:
            names[domain] = set(session.scalars(
                select(MailingList.name).join(Domain).where(Domain.name == domain)))
        return names[domain]

    def ours(address: str) -> bool:
        domain = address.rpartition("@")[2]
        # Most addresses are elsewhere: no parsing, and no lookup of that domain's lists.
        return domain in served and is_scheme_address(address, robot, served, lists_in(domain))

    return ours


def _own_address_refused(address: str) -> str:
    return str(UserError(OWN_ADDRESS, address=address))


def update_member(session: Session, mailing_list: MailingList, member: Member, *,
                  name: str | None = None, delivery: DeliveryMode | None = None,
                  actor: str = audit.CLI_ACTOR) -> None:
    """Change a member's name or delivery mode (an import, an owner's correction)."""
    changed: dict[str, str] = {}
    if name is not None and name.strip() != member.display_name:
        member.display_name = changed["name"] = name.strip()
    if delivery is not None and delivery is not member.delivery_mode:
        member.delivery_mode = delivery
        changed["delivery_mode"] = delivery.value
    if changed:
        audit.record(session, actor, "member.updated", mailing_list, member.address,
                     **changed)


def remove_member(session: Session, mailing_list: MailingList, address: str,
                  role: Role = Role.SUBSCRIBER, actor: str = audit.CLI_ACTOR) -> None:
    normalized = normalize_address(address)
    member = find_member(session, mailing_list, normalized, role)
    if member is None:
        raise NotFound(NOT_MEMBER, address=normalized, role=Term(role.value),
                       list=mailing_list.address)
    if role is Role.OWNER and count_role(session, mailing_list, Role.OWNER) == 1:
        raise UserError(LAST_OWNER, address=normalized, list=mailing_list.address)
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
        raise NotFound(NOT_MEMBER, address=normalized, role=Term(Role.SUBSCRIBER.value),
                       list=mailing_list.address)
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


def count_role_upto(session: Session, mailing_list: MailingList, role: Role, cap: int) -> int:
    """How many ROLE members, counted only up to CAP + 1: a page shows "more than CAP" for a
    big list, in the time of CAP index entries, instead of counting 1,000,000 on each view."""
    upto = select(Member.id).where(Member.list_id == mailing_list.id, Member.role == role) \
        .limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(upto)) or 0


def list_members(session: Session, mailing_list: MailingList,
                 role: Role | None = None) -> list[Member]:
    query = select(Member).where(Member.list_id == mailing_list.id)
    if role is not None:
        query = query.where(Member.role == role)
    return list(session.scalars(query.order_by(Member.role, Member.address)))


def describe_member(member: Member | ListedRow) -> dict[str, object]:
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
                   role: Role = Role.SUBSCRIBER, actor: str = audit.CLI_ACTOR,
                   robot: str = DEFAULT_ROBOT, *, force: bool = False) -> ImportReport:
    """Add every valid address; report each refused line with its number and the reason.

    A suppressed address is refused unless FORCE (the listmaster has new consent for each).
    """
    report = ImportReport()
    ours = own_addresses(session, mailing_list, robot)
    existing = set(session.scalars(select(Member.address).where(
        Member.list_id == mailing_list.id, Member.role == role)))
    batch: list[tuple[str, str]] = []
    insert = _MemberInsert(session, list_id=mailing_list.id, role=role,
                           delivery_mode=DeliveryMode.MAIL, status=MemberStatus.ENABLED,
                           bounce_score=0.0, bounce_warnings=0, subscribed_at=utcnow())
    parsed_lines = list(_parsed(lines, report))
    suppressed = (suppression.suppressed_among(session, (a for _, _, a, _ in parsed_lines))
                  if role is Role.SUBSCRIBER else {})
    for number, line, address, name in parsed_lines:
        if ours(address):
            report.refused.append((number, line, _own_address_refused(address)))
            continue
        if address in suppressed and address not in existing:
            if not force:
                report.refused.append((number, line, str(suppression.Suppressed(
                    suppressed[address]))))
                continue
            suppression.lift(session, address, actor=actor,
                             why_lifted="imported again with force (new consent)")
        if address in existing:
            report.already_members += 1
            continue
        existing.add(address)
        batch.append((address, name))
        if len(batch) >= IMPORT_BATCH:
            report.added += insert.flush(batch)
    report.added += insert.flush(batch)
    if report.added >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # Without fresh statistics PostgreSQL takes a big new list for an empty one and
        # reads every member to sort a page (2 s a page at 1,000,000; 1 ms after this).
        session.execute(text("ANALYZE members"))
    report.refused.sort()
    audit.record(session, actor, "member.imported", mailing_list, None, added=report.added,
                 refused=len(report.refused), already_members=report.already_members)
    return report


def _parsed(lines: Iterable[str], report: ImportReport
            ) -> Iterator[tuple[int, str, str, str]]:
    """(number, line, address, name) of each member line; a bad address goes to REPORT."""
    for number, line in enumerate(lines, start=1):
        parsed = parse_import_line(line)
        if parsed is None:
            continue
        raw_address, name = parsed
        try:
            yield number, line.rstrip("\n"), normalize_address(raw_address), name
        except InvalidAddress as exc:
            report.refused.append((number, line.rstrip("\n"), str(exc)))


class _MemberInsert:
    """One INSERT of member rows that differ only in address and name, compiled once and run
    by the driver: SQLAlchemy's per-row parameter processing cost more than the insert itself
    (a million-member import spent most of its time there)."""

    def __init__(self, session: Session, **constants: object) -> None:
        table = cast(Table, Member.__table__)
        self.connection = session.connection()
        dialect = self.connection.dialect
        # The driver applies no Python-side defaults: take each other column's here.
        for column in table.columns:
            if column.name in constants or column.name in ("id", "address", "display_name"):
                continue
            if column.default is not None:
                assert column.default.is_scalar, f"members.{column.name}: give its value"
                constants[column.name] = column.default.arg  # type: ignore[attr-defined]
        names = ["address", "display_name", *constants]
        compiled = table.insert().values({n: bindparam(n) for n in names}).compile(
            dialect=dialect)
        self.sql = str(compiled)
        fixed = {}
        for name, value in constants.items():
            process = table.c[name].type.bind_processor(dialect)
            fixed[name] = process(value) if process else value
        self.fixed = fixed
        self.order = list(compiled.positiontup or []) if compiled.positional else None

    def flush(self, batch: list[tuple[str, str]]) -> int:
        if not batch:
            return 0
        rows: list[Any] = [{"address": a, "display_name": n, **self.fixed} for a, n in batch]
        if self.order is not None:
            rows = [tuple(row[name] for name in self.order) for row in rows]
        self.connection.exec_driver_sql(self.sql, rows)
        count = len(batch)
        batch.clear()
        return count


def remove_all(session: Session, mailing_list: MailingList) -> None:
    session.execute(delete(Member).where(Member.list_id == mailing_list.id))


def addresses_with_role(session: Session, mailing_list: MailingList, role: Role) -> list[str]:
    return list(session.scalars(select(Member.address).where(
        Member.list_id == mailing_list.id, Member.role == role).order_by(Member.address)))


@dataclass(frozen=True)
class MemberPage:
    members: list[Member]
    # Where the next page starts (the last address and role on this one); None at the end.
    after: tuple[str, str] | None
    # Where the previous page ends (the first address and role on this one); None at the start.
    before: tuple[str, str] | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def page_members(session: Session, mailing_list: MailingList, *, limit: int,
                 after: tuple[str, str] | None = None, role: Role | None = None,
                 search: str = "", before: tuple[str, str] | None = None) -> MemberPage:
    """One page of members in address order, after AFTER (or, given BEFORE, the page that ends
    just before it): an index range of (list_id, address, role), at any list size."""
    query = select(Member).where(Member.list_id == mailing_list.id)
    if role is not None:
        query = query.where(Member.role == role)
    if search.strip():
        pattern = _like(search.strip().lower())
        query = query.where(Member.address.like(pattern, escape="\\")
                            | func.lower(Member.display_name).like(pattern, escape="\\"))
    key = tuple_(Member.address, Member.role)
    if before is not None:
        # Backwards: the LIMIT+1 rows before BEFORE, read in reverse, then put in order.
        rows = list(session.scalars(query.where(key < tuple_(*before))
                                    .order_by(Member.address.desc(), Member.role.desc())
                                    .limit(limit + 1)))
        if not rows:
            # Everything before was removed meanwhile: the first page is what comes before.
            return page_members(session, mailing_list, limit=limit, role=role, search=search)
        earlier = len(rows) > limit
        rows = rows[:limit][::-1]
        return MemberPage(rows, _key(rows[-1]), _key(rows[0]) if earlier else None)
    if after is not None:
        query = query.where(key > tuple_(*after))
    rows = list(session.scalars(query.order_by(Member.address, Member.role).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return MemberPage(rows, _key(rows[-1]) if more and rows else None,
                      _key(rows[0]) if after is not None and rows else None)


def _key(member: Member) -> tuple[str, str]:
    return member.address, member.role.value


def change_member(session: Session, mailing_list: MailingList, address: str, role: Role,
                  *, delivery: DeliveryMode | None = None, new_role: Role | None = None,
                  actor: str = audit.CLI_ACTOR) -> Member:
    """Change the delivery mode or the role of ADDRESS's ROLE membership (an owner's act)."""
    normalized = normalize_address(address)
    member = find_member(session, mailing_list, normalized, role)
    if member is None:
        raise NotFound(NOT_MEMBER, address=normalized, role=Term(role.value),
                       list=mailing_list.address)
    if delivery is not None and delivery is not member.delivery_mode:
        if role is not Role.SUBSCRIBER:
            raise UserError(N_("delivery: only a subscriber has a delivery mode, not a {role}"),
                            role=Term(role.value))
        set_delivery_mode(session, mailing_list, normalized, delivery, actor=actor)
    if new_role is not None and new_role is not role:
        _change_role(session, mailing_list, member, new_role, actor)
    return member


def _change_role(session: Session, mailing_list: MailingList, member: Member, new_role: Role,
                 actor: str) -> None:
    if find_member(session, mailing_list, member.address, new_role) is not None:
        raise AlreadyExists(ALREADY, address=member.address, role=Term(new_role.value),
                            list=mailing_list.address)
    if member.role is Role.OWNER and count_role(session, mailing_list, Role.OWNER) == 1:
        raise UserError(LAST_OWNER, address=member.address, list=mailing_list.address)
    audit.record(session, actor, "member.role_changed", mailing_list, member.address,
                 role=new_role.value, was=member.role.value)
    member.role = new_role


# What a listing of every member shows: plain rows, not ORM objects (a third of the time).
ListedRow = Row[str, str, Role, DeliveryMode, MemberStatus, float, dt.datetime]
LISTED = (Member.address, Member.display_name, Member.role, Member.delivery_mode, Member.status,
          Member.bounce_score, Member.subscribed_at)


def iter_members(session: Session, mailing_list: MailingList, batch: int = 2000,
                 role: Role | None = None) -> Iterator[ListedRow]:
    """Every member (of ROLE) in address order as rows of LISTED, a batch at a time: memory
    stays flat at any list size."""
    query = select(*LISTED).where(Member.list_id == mailing_list.id)
    if role is not None:
        query = query.where(Member.role == role)
    key = tuple_(Member.address, Member.role)
    after: tuple[str, str] | None = None
    while True:
        page = query if after is None else query.where(key > tuple_(*after))
        rows = session.execute(page.order_by(Member.address, Member.role).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].address, rows[-1].role.value
