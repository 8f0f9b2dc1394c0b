"""Waiting for listd to finish with what it received, and reading what it sent."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.models import (
    InboundMessage,
    InboundState,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
)
from tests.support.maildir import Written, read_outbox
from tests.support.waiting import wait_until

BUSY = (OutboundState.QUEUED, OutboundState.SENDING, OutboundState.DEFERRED)


def _settled(db: Database, inbound: int) -> bool:
    with db.session() as session:
        states = list(session.scalars(select(InboundMessage.state)))
        # A post's recipients are queued by the expander after the post itself. Asked before
        # the entries: on PostgreSQL each query sees the latest commit, and the other order
        # misses entries the expander commits between the two queries.
        unexpanded = session.scalar(select(OutboundMessage.id).where(
            OutboundMessage.expanded.is_(False)).limit(1))
        busy = session.scalar(select(OutboundEntry.id).where(OutboundEntry.state.in_(BUSY))
                              .limit(1))
    return (len(states) >= inbound and InboundState.QUEUED not in states and busy is None
            and unexpanded is None)


async def settle(db: Database, inbound: int = 1) -> None:
    """Wait until INBOUND messages were processed and every queued mail was written out."""
    await wait_until(lambda: _settled(db, inbound), timeout=20,
                     what=f"{inbound} inbound processed and the outbound queue empty")


def outbox(config: Config) -> list[Written]:
    return read_outbox(Path(config.outbound.path))


def sent_to(config: Config, recipient: str) -> list[Written]:
    return [w for w in outbox(config) if w.recipient == recipient]


def outcomes(db: Database) -> list[str]:
    with db.session() as session:
        return [o or "" for o in session.scalars(
            select(InboundMessage.outcome).order_by(InboundMessage.id))]
