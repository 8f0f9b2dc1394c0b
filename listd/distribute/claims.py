"""Row claims on the outbound queue: take due rows before sending, record answers after.

A claim marks rows `sending` with this process's id in one transaction (with PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets several processes claim side by side without waiting or
overlapping); results are written back as the relay confirms them, a few connections' chunks
per transaction. If the process dies in between, the others see its heartbeat go stale
(listd/processes.py) and give its claims back within seconds; a claim that nobody renews
for the lease is given back too. So a crash can send twice only what was on the wire.
A result is written only over the writer's own claim (or a row given back meanwhile),
never over another process's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from listd.database import affected_rows
from listd.distribute.outcome import SendResult, SendStatus
from listd.models import (
    Domain,
    MailingList,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
)

MAX_RESPONSE = 2000


class Claimed(NamedTuple):
    """A claimed queue row (a tuple: thousands are made per second)."""

    entry_id: int
    outbound_id: int
    recipient: str
    member_id: int | None
    attempts: int
    created_at: dt.datetime
    # When this process claimed it (the lease runs from here, or from the last renewal).
    claimed_at: dt.datetime


@dataclass(frozen=True)
class OutboundInfo:
    """What every recipient of one outbound message shares."""

    outbound_id: int
    raw: bytes
    verp: bool
    envelope_sender: str
    list_id: int | None
    list_name: str | None
    domain: str | None
    kind: str = "post"
    # The post's authentication results on arrival (OutboundMessage.arrival_auth).
    arrival_auth: dict[str, Any] | None = None
    # The stored post it was rendered from (tracked links name it).
    source_message_id: int | None = None


_STATE_OF = {SendStatus.SENT: OutboundState.SENT, SendStatus.DEFERRED: OutboundState.DEFERRED,
             SendStatus.FAILED: OutboundState.FAILED}


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off after ATTEMPTS tries: 1 min, 2, 4 … capped at 4 hours."""
    return dt.timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 4 * 3600))


def claim_due(session: Session, now: dt.datetime, worker_id: str, limit: int) -> list[Claimed]:
    """Claim up to LIMIT due rows: due retries first, then new rows, oldest first.

    One statement per state: UPDATE … WHERE id IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED])
    RETURNING …, so the rows are found, marked and read back in one round trip (SQLite 3.35+
    and PostgreSQL both have RETURNING).
    """
    table = cast(Table, OutboundEntry.__table__)
    rows: list[Claimed] = []
    connection = session.connection()  # Core, not the ORM: plain tuples, less per-row work
    if connection.dialect.name == "sqlite":
        return _claim_due_sqlite(connection, now, worker_id, limit)
    # One index range scan per state (ix_outbound_queue_work); a mixed IN/ORDER BY would sort.
    for state in (OutboundState.DEFERRED, OutboundState.QUEUED):
        if len(rows) >= limit:
            break
        due = (select(table.c.id).where(table.c.state == state,
                                        table.c.next_attempt_at <= now)
               .order_by(table.c.next_attempt_at).limit(limit - len(rows))
               .with_for_update(skip_locked=True).scalar_subquery())
        found = connection.execute(
            table.update().where(table.c.id.in_(due))
            .values(state=OutboundState.SENDING, claimed_by=worker_id, claimed_at=now)
            .returning(table.c.id, table.c.outbound_id, table.c.recipient, table.c.member_id,
                       table.c.attempts, table.c.created_at, table.c.claimed_at)).all()
        rows += sorted((Claimed._make(row) for row in found), key=lambda c: c.entry_id)
    return rows


# The same statement as claim_due's, straight to the driver: building and caching the Core
# statement, and SQLAlchemy's handling of each returned row, cost more than SQLite's work.
_CLAIM_SQLITE = (
    "UPDATE outbound_queue SET state = 'sending', claimed_by = ?, claimed_at = ? "
    "WHERE id IN (SELECT id FROM outbound_queue WHERE state = ? AND next_attempt_at <= ? "
    "ORDER BY next_attempt_at LIMIT ?) "
    "RETURNING id, outbound_id, recipient, member_id, attempts, created_at")


def _claim_due_sqlite(connection: Connection, now: dt.datetime, worker_id: str,
                      limit: int) -> list[Claimed]:
    columns = OutboundEntry.__table__.c
    dialect = connection.dialect
    as_text = columns.claimed_at.type.dialect_impl(dialect).bind_processor(dialect) or (
        lambda v: v)
    as_time = cast(Callable[[Any], dt.datetime], columns.created_at.type.dialect_impl(
        dialect).result_processor(dialect, None) or (lambda v: v))
    stamp = as_text(now)
    rows: list[Claimed] = []
    for state in (OutboundState.DEFERRED, OutboundState.QUEUED):
        if len(rows) >= limit:
            break
        found = connection.exec_driver_sql(
            _CLAIM_SQLITE, (worker_id, stamp, state.value, stamp, limit - len(rows))).all()
        rows += sorted((Claimed(i, o, r, m, a, as_time(c), now) for i, o, r, m, a, c in found),
                       key=lambda c: c.entry_id)
    return rows


def load_outbound(session: Session, outbound_ids: set[int]) -> list[OutboundInfo]:
    found = session.execute(
        select(OutboundMessage.id, OutboundMessage.raw, OutboundMessage.verp,
               OutboundMessage.envelope_sender, OutboundMessage.list_id, MailingList.name,
               Domain.name, OutboundMessage.kind, OutboundMessage.arrival_auth,
               OutboundMessage.source_message_id)
        .outerjoin(MailingList, MailingList.id == OutboundMessage.list_id)
        .outerjoin(Domain, Domain.id == MailingList.domain_id)
        .where(OutboundMessage.id.in_(outbound_ids))).all()
    return [OutboundInfo(*row) for row in found]


@dataclass(frozen=True)
class RelayRefusal:
    """A recipient of list mail that the relay refused with a 5xx."""

    entry_id: int
    list_id: int
    member_id: int | None
    recipient: str
    response: str


def record_results(session: Session, now: dt.datetime, give_up_after: dt.timedelta,
                   results: Sequence[tuple[Claimed, SendResult]],
                   list_of: dict[int, int | None], worker_id: str) -> list[RelayRefusal]:
    """Write the relay's answers back, one statement per outcome; return the 5xx refusals
    of list mail, which bounce processing records and scores in the same transaction.

    LIST_OF maps an outbound id to its list. A row is written only while WORKER_ID still
    holds its claim, or once it was given back and nobody claimed it again (it was sent:
    writing so keeps it from going twice); another process's claim is left alone.
    """
    updates: dict[SendStatus, list[tuple[int, int, str]]] = defaultdict(list)
    retries: dict[SendStatus, list[dt.datetime]] = defaultdict(list)
    bounces = []
    for claimed, result in results:
        status, response = result.status, result.response
        if status is SendStatus.DEFERRED and now - claimed.created_at >= give_up_after:
            status = SendStatus.FAILED
            response = f"gave up after {give_up_after}: {response}"
        updates[status].append((claimed.entry_id, claimed.attempts + 1,
                                response[:MAX_RESPONSE]))
        if status is SendStatus.DEFERRED:
            retries[status].append(now + retry_delay(claimed.attempts + 1))
        list_id = list_of.get(claimed.outbound_id)
        if status is SendStatus.FAILED and result.code is not None and result.code >= 500 \
                and list_id is not None:
            bounces.append(RelayRefusal(claimed.entry_id, list_id, claimed.member_id,
                                        claimed.recipient, result.response[:MAX_RESPONSE]))
    connection = session.connection()
    for status, rows in updates.items():
        times = retries[status] if status is SendStatus.DEFERRED else None
        if connection.dialect.name == "postgresql":
            _update_postgresql(connection, status, rows, now, times, worker_id)
        else:
            _update_rows(connection, status, rows, now, times, worker_id)
    return bounces


def _sets(status: SendStatus) -> list[str]:
    return [f"state = '{_STATE_OF[status].value}'", "claimed_by = NULL", "claimed_at = NULL"]


# Still ours, or given back meanwhile and not claimed again.
_OWNED = "(claimed_by = {me} OR state IN ('queued', 'deferred'))"


def _update_rows(connection: Connection, status: SendStatus, rows: list[tuple[int, int, str]],
                 now: dt.datetime, times: list[dt.datetime] | None, worker_id: str) -> None:
    """One executemany, straight to the driver: SQLAlchemy's per-row parameter handling costs
    more than SQLite's work here."""
    as_time = OutboundEntry.__table__.c.sent_at.type.bind_processor(connection.dialect) or (
        lambda v: v)
    sets = [*_sets(status), "attempts = ?", "last_response = ?"]
    params: list[tuple[Any, ...]]
    if status is SendStatus.SENT:
        sets.append("sent_at = ?")
        params = [(a, r, as_time(now), i, worker_id) for i, a, r in rows]
    elif times is not None:
        sets.append("next_attempt_at = ?")
        params = [(a, r, as_time(t), i, worker_id)
                  for (i, a, r), t in zip(rows, times, strict=True)]
    else:
        params = [(a, r, i, worker_id) for i, a, r in rows]
    connection.exec_driver_sql(
        f"UPDATE outbound_queue SET {', '.join(sets)} "
        f"WHERE id = ? AND {_OWNED.format(me='?')}", params)


def _update_postgresql(connection: Connection, status: SendStatus,
                       rows: list[tuple[int, int, str]], now: dt.datetime,
                       times: list[dt.datetime] | None, worker_id: str) -> None:
    """One statement for the whole batch: the rows' values travel as arrays, so PostgreSQL
    does one round trip and one plan instead of one per recipient."""
    ids, attempts, responses = (list(column) for column in zip(*rows, strict=True))
    sets = [*_sets(status), "attempts = v.attempts", "last_response = v.response"]
    columns = "unnest(%s::bigint[], %s::int[], %s::text[]"
    params: list[object] = [ids, attempts, responses]
    names = "v(id, attempts, response"
    if status is SendStatus.SENT:
        sets.append("sent_at = %s")
        params.insert(0, now)
    elif times is not None:
        sets.append("next_attempt_at = v.next_attempt_at")
        columns += ", %s::timestamp[]"
        names += ", next_attempt_at"
        params.append(times)
    params.append(worker_id)
    connection.exec_driver_sql(
        f"UPDATE outbound_queue AS q SET {', '.join(sets)} "
        f"FROM {columns}) AS {names}) WHERE q.id = v.id AND "
        f"{_OWNED.format(me='%s')}", tuple(params))


def release(session: Session, entry_ids: Sequence[int]) -> None:
    """Give back claimed rows that were not sent (a stopping worker's leftovers)."""
    if entry_ids:
        session.execute(update(OutboundEntry).where(
            OutboundEntry.id.in_(entry_ids), OutboundEntry.state == OutboundState.SENDING)
            .values(state=OutboundState.QUEUED, claimed_by=None, claimed_at=None),
            execution_options={"synchronize_session": False})


def release_expired_leases(session: Session, now: dt.datetime, lease: dt.timedelta) -> int:
    """Give back claims nobody renewed for LEASE: their process is alive but stuck."""
    return _give_back(session, OutboundEntry.claimed_at < now - lease)


def renew(session: Session, worker_id: str, now: dt.datetime,
          entry_ids: Sequence[int]) -> set[int]:
    """Renew the lease of every row WORKER_ID holds; return which of ENTRY_IDS it still holds
    (the others were given back, perhaps claimed and sent by another process meanwhile)."""
    mine = (OutboundEntry.claimed_by == worker_id, OutboundEntry.state == OutboundState.SENDING)
    session.execute(update(OutboundEntry).where(*mine).values(claimed_at=now),
                    execution_options={"synchronize_session": False})
    return set(session.scalars(select(OutboundEntry.id).where(
        *mine, OutboundEntry.id.in_(entry_ids))))


def claimers(session: Session) -> set[str]:
    """The processes that hold claims now (one index scan of ix_outbound_queue_claimed_by)."""
    return set(session.scalars(select(OutboundEntry.claimed_by).distinct().where(
        OutboundEntry.claimed_by.is_not(None), OutboundEntry.state == OutboundState.SENDING)))


def release_claims_of(session: Session, owners: set[str]) -> int:
    """Give back every row that the processes OWNERS (dead ones) had claimed."""
    return _give_back(session, OutboundEntry.claimed_by.in_(owners)) if owners else 0


def _give_back(session: Session, condition: Any) -> int:
    result = session.execute(update(OutboundEntry).where(
        OutboundEntry.state == OutboundState.SENDING, condition)
        .values(state=OutboundState.QUEUED, claimed_by=None, claimed_at=None),
        execution_options={"synchronize_session": False})
    return affected_rows(result)


def sent_since(session: Session, since: dt.datetime) -> int:
    """Messages every process sent since SINCE (counted through ix_outbound_queue_sent_at)."""
    return session.execute(select(func.count(OutboundEntry.id))
                           .where(OutboundEntry.sent_at >= since)).scalar_one()
