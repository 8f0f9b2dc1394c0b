"""Pacing per recipient domain (`outbound.domain_quotas`): at most QUOTA recipients of one
domain in any 60 consecutive minutes, counted across every process sharing the database.

Receiving providers defer bursts from a sender they do not know yet. So a recipient of a
limited domain is counted when it is claimed, in the claim's own transaction, in a
per-minute bucket of `domain_quota_use` (one row per domain and minute, never a COUNT of
queue rows: a 100,000-recipient fan-out reads at most a few buckets per domain per batch).
Claimers of the same domain take a transaction lock on it first (PostgreSQL advisory lock;
SQLite has one writer anyway), so two processes never spend the same room.

A claimed row over its domain's budget is given back in that same transaction, booked for
the earliest minute with room: its reservation is written into that minute's bucket, the
row keeps its state and attempts, and `paced_domain` marks it while next_attempt_at waits
for that minute. It has left the due range of the work index, so the claimer does not meet
it again before then, and other domains' rows go on being claimed at full speed. Claimed
at its minute, it uses its reservation instead of counting again.

Why the earliest minute keeps every 60-minute window within the quota: a minute's window
(itself and the 59 before) only ever gains reservations, so a minute that had no room when
a row was booked past it has none later either; nobody can book before a reservation that
was placed as early as it could be.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import DateTime, Table, bindparam, delete, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from listd.config import DomainQuotas, quota_domain
from listd.distribute.claims import Claimed
from listd.distribute.domain_limit import domain_of
from listd.models import DomainQuotaUse, OutboundEntry, OutboundState

WINDOW = 60  # minutes
MINUTE = dt.timedelta(minutes=1)


def minute_of(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


class Bookings:
    """One domain's reservations by minute (from 59 minutes back on), and where more go."""

    def __init__(self, quota: int, now: dt.datetime, counts: dict[dt.datetime, int]) -> None:
        self.quota = quota
        self.start = minute_of(now)
        # Offsets in minutes from now's minute: reading and placing is integer work.
        self.counts: dict[int, int] = defaultdict(int)
        for minute, count in counts.items():
            self.counts[int((minute - self.start) / MINUTE)] += count
        self.changed: set[int] = set()

    def book(self, count: int) -> list[dt.datetime]:
        """Minutes for COUNT more recipients, each the earliest from now whose window (it
        and the 59 minutes before) holds fewer than the quota; the first ones may be now."""
        booked: list[dt.datetime] = []
        offset = 0
        window = sum(self.counts.get(-back, 0) for back in range(WINDOW))
        while len(booked) < count:
            room = self.quota - window
            if room <= 0:
                offset += 1
                window += self.counts.get(offset, 0) - self.counts.get(offset - WINDOW, 0)
                continue
            taken = min(room, count - len(booked))
            self.counts[offset] += taken
            self.changed.add(offset)
            window += taken
            booked += [self.start + offset * MINUTE] * taken
        return booked

    def written(self) -> dict[dt.datetime, int]:
        """The buckets BOOK changed, with their new counts."""
        return {self.start + offset * MINUTE: self.counts[offset] for offset in self.changed}


@dataclass(frozen=True)
class Paced:
    """What pacing did to one claimed batch."""

    kept: list[Claimed]
    # Rows given back until their domain has room.
    deferred: int


class DomainQuota:
    def __init__(self, quotas: DomainQuotas) -> None:
        self.quotas = quotas
        # False (none configured): the claimer never calls pace, the fast path stays as it was.
        self.limited = any(quotas.values())

    def quota_of(self, recipient: str) -> tuple[str, int]:
        domain = quota_domain(domain_of(recipient))
        return domain, self.quotas.quota_of(domain)

    def pace(self, session: Session, now: dt.datetime, rows: list[Claimed],
             worker_id: str) -> Paced:
        """Keep the rows their domain has room for now; book the others for later and give
        them back. In the claim's transaction, so the count and the claim commit together."""
        by_domain: dict[str, list[Claimed]] = defaultdict(list)
        quota: dict[str, int] = {}
        for row in rows:
            domain, limit = self.quota_of(row.recipient)
            if limit:
                by_domain[domain].append(row)
                quota[domain] = limit
        if not by_domain:
            return Paced(rows, 0)
        connection = session.connection()
        _lock(connection, sorted(by_domain))
        reserved = _use_reservations(connection, now, by_domain.values())
        bookings = _bookings(connection, now, quota)
        late: list[tuple[Claimed, str, dt.datetime]] = []
        for domain, claimed in by_domain.items():
            fresh = [row for row in claimed if row.entry_id not in reserved]
            for row, minute in zip(fresh, bookings[domain].book(len(fresh)), strict=True):
                if minute > now:
                    late.append((row, domain, minute))
        _write_buckets(connection, bookings)
        _give_back(connection, late, worker_id)
        _forget_old_buckets(session, now, sorted(by_domain))
        later = {row.entry_id for row, _, _ in late}
        return Paced([row for row in rows if row.entry_id not in later], len(later))


def _lock(connection: Connection, domains: list[str]) -> None:
    """Serialize the claimers of these domains until commit (in one order: no deadlock)."""
    if connection.dialect.name != "postgresql":
        return  # SQLite: the claim's UPDATE already holds the database's write lock
    connection.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext('listd.domain_quota:' "
        "|| d) AS k FROM unnest(%s::text[]) AS d ORDER BY 1) AS keys", (domains,))


def _queue() -> Table:
    return cast(Table, OutboundEntry.__table__)


def _use_reservations(connection: Connection, now: dt.datetime,
                      groups: Iterable[list[Claimed]]) -> set[int]:
    """The rows that were booked for a minute still in the window: they are counted already.
    Their mark goes; one booked too long ago (claimed late) counts afresh."""
    table = _queue()
    ids = [row.entry_id for group in groups for row in group]
    # One round trip: unmark and read back what was marked.
    marked = connection.execute(
        table.update().where(table.c.id.in_(ids), table.c.paced_domain.is_not(None))
        .values(paced_domain=None).returning(table.c.id, table.c.next_attempt_at)).all()
    oldest = minute_of(now) - (WINDOW - 1) * MINUTE
    return {i for i, at in marked if oldest <= minute_of(at) <= now}


def _bookings(connection: Connection, now: dt.datetime,
              quota: dict[str, int]) -> dict[str, Bookings]:
    counts: dict[str, dict[dt.datetime, int]] = {domain: {} for domain in quota}
    oldest = minute_of(now) - (WINDOW - 1) * MINUTE
    use = DomainQuotaUse
    for domain, minute, count in connection.execute(
            select(use.domain, use.minute, use.count)
            .where(use.domain.in_(list(quota)), use.minute >= oldest)):
        counts[domain][minute] = count
    return {domain: Bookings(limit, now, counts[domain]) for domain, limit in quota.items()}


def _write_buckets(connection: Connection, bookings: dict[str, Bookings]) -> None:
    rows = [{"domain": domain, "minute": minute, "count": count}
            for domain, booked in bookings.items() for minute, count in booked.written().items()]
    if not rows:
        return
    # Under the domain's lock the new count is exact: written, not added. The same statement
    # on SQLite (3.24+) and PostgreSQL.
    connection.execute(_UPSERT, rows)


_UPSERT = text(
    "INSERT INTO domain_quota_use (domain, minute, count) VALUES (:domain, :minute, :count) "
    "ON CONFLICT (domain, minute) DO UPDATE SET count = excluded.count"
).bindparams(bindparam("minute", type_=DateTime()))


def _give_back(connection: Connection, late: Sequence[tuple[Claimed, str, dt.datetime]],
               worker_id: str) -> None:
    """Unclaim the rows booked for later: not an attempt, so state and attempts stay."""
    if not late:
        return
    values = [(row.entry_id, (OutboundState.DEFERRED if row.attempts else OutboundState.QUEUED)
               .value, minute, domain) for row, domain, minute in late]
    if connection.dialect.name == "postgresql":
        # One statement, the values as arrays: a round trip per row would cost more than
        # the claim itself (as claims._update_postgresql).
        ids, states, minutes, domains = (list(column) for column in zip(*values, strict=True))
        connection.exec_driver_sql(
            "UPDATE outbound_queue AS q SET state = v.state, next_attempt_at = v.at, "
            "paced_domain = v.domain, claimed_by = NULL, claimed_at = NULL "
            "FROM unnest(%s::bigint[], %s::text[], %s::timestamp[], %s::text[]) "
            "AS v(id, state, at, domain) WHERE q.id = v.id AND q.claimed_by = %s",
            (ids, states, minutes, domains, worker_id))
        return
    # SQLite: one executemany straight to the driver (SQLAlchemy's per-row parameter work
    # would cost more than SQLite's), as claims._update_rows.
    as_time = _queue().c.next_attempt_at.type.bind_processor(connection.dialect) or (
        lambda v: v)
    connection.exec_driver_sql(
        "UPDATE outbound_queue SET state = ?, next_attempt_at = ?, paced_domain = ?, "
        "claimed_by = NULL, claimed_at = NULL WHERE id = ? AND claimed_by = ?",
        [(state, as_time(at), domain, i, worker_id) for i, state, at, domain in values])


def _forget_old_buckets(session: Session, now: dt.datetime, domains: list[str]) -> None:
    oldest = minute_of(now) - (WINDOW - 1) * MINUTE
    session.execute(delete(DomainQuotaUse).where(DomainQuotaUse.domain.in_(domains),
                                                 DomainQuotaUse.minute < oldest))


@dataclass(frozen=True)
class Waiting:
    """Recipients of one domain waiting for its quota (`listd queue status`)."""

    domain: str
    recipients: int
    next_at: dt.datetime


def waiting_for_quota(session: Session) -> list[Waiting]:
    table = _queue()
    found = session.execute(
        select(table.c.paced_domain, func.count(), func.min(table.c.next_attempt_at))
        .where(table.c.paced_domain.is_not(None),
               table.c.state.in_([OutboundState.QUEUED, OutboundState.DEFERRED]))
        .group_by(table.c.paced_domain).order_by(table.c.paced_domain)).all()
    return [Waiting(*row) for row in found]

