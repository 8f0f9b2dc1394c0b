"""The inbound worker: process each stored message once, in one transaction with its effects."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.models import InboundMessage, InboundState, MailingList, StoredMessage
from listd.processing.delivery import Delivery, Outcome
from listd.processing.failures import after_failure
from listd.processing.handlers import HANDLERS
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind, parse_local_part

log = logging.getLogger("listd.processing")

# Rows processed in one transaction: a commit costs more than most handlers' work.
BATCH_SIZE = 16
# With no wake-up signal (mail stored by another process or by `listd inject`), look this often.
IDLE_POLL_SECONDS = 1.0


def claim_due(session: Session, now: dt.datetime, limit: int) -> list[InboundMessage]:
    # The rows stay locked until this transaction ends: another process skips them, and a
    # crash rolls everything back so each message is processed again from the start, once.
    return list(session.scalars(
        select(InboundMessage)
        .where(InboundMessage.state == InboundState.QUEUED,
               InboundMessage.next_attempt_at <= now)
        .order_by(InboundMessage.id).limit(limit).with_for_update(skip_locked=True)))


def build_delivery(session: Session, runtime: Runtime, row: InboundMessage) -> Delivery:
    raw = session.execute(select(StoredMessage.raw)
                          .where(StoredMessage.id == row.message_id)).scalar_one()
    local, _, domain = row.recipient.rpartition("@")
    destination = parse_local_part(local, domain, runtime.config.robot)
    mailing_list = session.get(MailingList, row.list_id) if row.list_id else None
    return Delivery(inbound=row, raw=raw, destination=destination, mailing_list=mailing_list)


def process_row(session: Session, runtime: Runtime, row: InboundMessage,
                now: dt.datetime) -> Outcome:
    """Hand ROW to its handler inside a savepoint, so a failure undoes only this row's work."""
    row.attempts += 1
    try:
        with session.begin_nested():
            delivery = build_delivery(session, runtime, row)
            outcome = HANDLERS[DestinationKind(row.destination)](session, runtime, delivery)
    except Exception as exc:
        # The mail's fault or ours, each ends in an outcome someone sees (failures.py).
        return after_failure(session, runtime, row, exc, now,
                             lambda: build_delivery(session, runtime, row))
    row.state = outcome.state
    row.outcome = outcome.summary
    row.processed_at = now
    log.info("queue_id=%d rcpt=<%s> %s: %s", row.id, row.recipient, outcome.state.value,
             outcome.summary)
    return outcome


def process_batch(runtime: Runtime, limit: int = BATCH_SIZE) -> list[Outcome]:
    """Process up to LIMIT due inbound rows in one transaction (one commit for all)."""
    now = runtime.clock.now()
    with runtime.db.session() as session:
        return [process_row(session, runtime, row, now)
                for row in claim_due(session, now, limit)]


def process_one(runtime: Runtime) -> Outcome | None:
    """Process the oldest due inbound row; None when there is nothing to do."""
    outcomes = process_batch(runtime, limit=1)
    return outcomes[0] if outcomes else None


class InboundWorker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def run(self, stopping: asyncio.Event) -> None:
        signal = self.runtime.signals.inbound
        while not stopping.is_set():
            signal.clear()
            try:
                outcomes = await self.runtime.db.run(process_batch, self.runtime)
            except Exception:
                log.exception("inbound worker: database failure; retrying shortly")
                outcomes = []
            if outcomes:
                if any(outcome.queued_mail for outcome in outcomes):
                    self.runtime.signals.mail_queued()
                continue
            await wait_for_any(signal, stopping, IDLE_POLL_SECONDS)


async def wait_for_any(signal: asyncio.Event, stopping: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(signal.wait()), asyncio.ensure_future(stopping.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
