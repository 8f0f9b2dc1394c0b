"""Which inbound worker has which message: a claim marked on the row, in a short transaction.

A claim is written (claimed_by, claimed_at) and committed before the message is worked on,
so no transaction stays open while it is parsed, checked in DNS or rendered: on SQLite the
one writer is free for other mail meanwhile, and on PostgreSQL several workers, in one
process or many, claim rows side by side (FOR UPDATE SKIP LOCKED). Each claim carries a
token of its own, so the transaction that ends the work can tell its claim is still there.
A claim is taken back when its process is gone (at start-up, for this machine) or when it is
older than the lease (any machine).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import cast

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from listd.config import ProcessingConfig
from listd.database import affected_rows
from listd.models import InboundMessage, InboundState

_tokens = itertools.count(1)


def lease(config: ProcessingConfig) -> dt.timedelta:
    """How long a claim holds: well past the time budget one message may cost."""
    return dt.timedelta(seconds=2 * config.time_budget + 60)


def new_token(worker_id: str) -> str:
    """A claim token unique to this process and claim: WORKER_ID (the process's heartbeat
    id) and a count."""
    return f"{worker_id}/{next(_tokens)}"


# Built once: a claim is taken for every message. One statement (the oldest due row, locked
# past the rows other workers hold, marked with the claim), on the table: no ORM loading.
_INBOUND = cast(Table, InboundMessage.__table__)
_NEXT_DUE = (
    select(_INBOUND.c.id)
    .where(_INBOUND.c.state == InboundState.QUEUED,
           _INBOUND.c.next_attempt_at <= bindparam("due_by"),
           or_(_INBOUND.c.claimed_by.is_(None), _INBOUND.c.claimed_at < bindparam("lapsed")))
    .order_by(_INBOUND.c.id).limit(1).with_for_update(skip_locked=True))
_CLAIM_NEXT = (update(_INBOUND).where(_INBOUND.c.id == _NEXT_DUE.scalar_subquery())
               .values(claimed_by=bindparam("token"), claimed_at=bindparam("due_by"))
               .returning(_INBOUND.c.id))
# The row written finished (claim lifted, attempt counted, outcome) if the claim is still
# ours: on the hot path, the one statement on the row after its claim, on the table.
_FINISHED = (update(_INBOUND).where(_INBOUND.c.id == bindparam("row_id"),
                                    _INBOUND.c.state == InboundState.QUEUED,
                                    _INBOUND.c.claimed_by == bindparam("token"))
             .values(state=bindparam("new_state"), attempts=_INBOUND.c.attempts + 1,
                     claimed_by=None, claimed_at=None, outcome=bindparam("summary"),
                     processed_at=bindparam("done_at")))
_CLAIMED = select(InboundMessage).where(
    InboundMessage.id == bindparam("row_id"), InboundMessage.state == InboundState.QUEUED,
    InboundMessage.claimed_by == bindparam("token")).with_for_update()


def claim_next(session: Session, now: dt.datetime, token: str,
               config: ProcessingConfig) -> int | None:
    """Claim the oldest due, unclaimed inbound row for TOKEN; its id, or None."""
    # The row this transaction just finished must be written as finished before the next is
    # picked (Session.execute autoflushes; said here, as it is what keeps a row from being
    # claimed again in its own finishing transaction).
    session.flush()
    row_id = session.execute(_CLAIM_NEXT, {"due_by": now, "lapsed": now - lease(config),
                                           "token": token}).scalar()
    return None if row_id is None else int(row_id)


def claim_next_on(connection: Connection, now: dt.datetime, token: str,
                  config: ProcessingConfig) -> int | None:
    """`claim_next` on the connection itself, for a transaction whose finished rows were
    written by `mark_finished` (nothing of theirs waits in a session to be flushed)."""
    row_id = connection.execute(_CLAIM_NEXT, {"due_by": now, "lapsed": now - lease(config),
                                              "token": token}).scalar()
    return None if row_id is None else int(row_id)


def mark_finished(connection: Connection, inbound_id: int, token: str, state: InboundState,
                  summary: str, now: dt.datetime) -> bool:
    """Row INBOUND_ID done with, if TOKEN's claim on it still stands: its claim lifted, the
    attempt counted, its outcome; one UPDATE, as `lift` and the caller's changes write it for
    a loaded row. False, and nothing written, where the claim was lost meanwhile."""
    return affected_rows(connection.execute(_FINISHED, {
        "row_id": inbound_id, "token": token, "new_state": state, "summary": summary,
        "done_at": now})) == 1


def claimed_row(session: Session, inbound_id: int, token: str) -> InboundMessage | None:
    """Row INBOUND_ID, locked, if TOKEN's claim on it still stands; None if another worker
    took it over or it was handled meanwhile. The caller lifts the claim (`lift`) in the same
    transaction, when it records the row's outcome."""
    return session.scalars(_CLAIMED, {"row_id": inbound_id, "token": token}).first()


def lift(row: InboundMessage) -> None:
    """ROW's claim taken off, to be written with the rest of its change."""
    row.claimed_by, row.claimed_at = None, None


def release(session: Session, inbound_id: int, token: str) -> None:
    session.execute(update(InboundMessage).where(
        InboundMessage.id == inbound_id, InboundMessage.claimed_by == token)
        .values(claimed_by=None, claimed_at=None), execution_options={"synchronize_session": False})


def claimers(session: Session) -> set[str]:
    """The processes (their heartbeat ids) holding claims on inbound rows."""
    return {claim.partition("/")[0] for claim in session.scalars(
        select(InboundMessage.claimed_by).distinct().where(
            InboundMessage.state == InboundState.QUEUED,
            InboundMessage.claimed_by.is_not(None))) if claim}


def release_claims_of(session: Session, owners: set[str]) -> int:
    """Give back the inbound rows claimed by OWNERS (processes found dead by their heartbeat)."""
    released = 0
    for owner in owners:
        released += affected_rows(session.execute(
            update(InboundMessage).where(InboundMessage.state == InboundState.QUEUED,
                                         InboundMessage.claimed_by.like(f"{owner}/%"))
            .values(claimed_by=None, claimed_at=None),
            execution_options={"synchronize_session": False}))
    return released
