"""The inbound workers: process each stored message once, in one transaction with its effects.

Each message goes through three steps (see claims.py and preparation.py): a claim, committed
at once; the slow work (parsing, DNS, rendering) outside any write transaction, in a thread
of the preparation pool, within the message's time budget; and a short transaction in which
its handler decides and records, the row is marked done and the next row is claimed.
`processing.workers` such lanes run side by side, so a slow message holds up only its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session

from listd.models import InboundMessage
from listd.processing import claims
from listd.processing.delivery import Delivery, Outcome
from listd.processing.failures import after_failure
from listd.processing.handlers import HANDLERS
from listd.processing.preparation import Preparation, load_delivery, prepare
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind

log = logging.getLogger("listd.processing")

# Rows process_batch handles in one call (each in its own short transaction).
BATCH_SIZE = 16
# With no wake-up signal (mail stored by another process or by `listd inject`), look this often.
IDLE_POLL_SECONDS = 1.0


def build_delivery(session: Session, runtime: Runtime, row: InboundMessage,
                   preparation: Preparation | None = None) -> Delivery:
    delivery = load_delivery(session, runtime, row, preparation)
    if preparation is not None:
        # A failure while preparing is this row's failure of processing.
        preparation.raise_failure()
        delivery.parsed = preparation.message
        delivery.prepared_post = preparation.post
        delivery.prepared_bounce = preparation.bounce
    return delivery


def process_row(session: Session, runtime: Runtime, row: InboundMessage,
                now: dt.datetime, preparation: Preparation | None = None) -> Outcome:
    """Hand ROW to its handler inside a savepoint, so a failure undoes only this row's work.
    The row itself is changed only after the savepoint (its claim lifted, the attempt
    counted, its outcome), all in the same transaction: one UPDATE of it, not two."""
    try:
        with session.begin_nested():
            delivery = build_delivery(session, runtime, row, preparation)
            outcome = HANDLERS[DestinationKind(row.destination)](session, runtime, delivery)
    except Exception as exc:
        claims.lift(row)
        row.attempts += 1
        # The mail's fault or ours, each ends in an outcome someone sees (failures.py).
        return after_failure(session, runtime, row, exc, now,
                             lambda: build_delivery(session, runtime, row))
    claims.lift(row)
    row.attempts += 1
    row.state = outcome.state
    row.outcome = outcome.summary
    row.processed_at = now
    _log_outcome(row, outcome)
    return outcome


def _log_outcome(row: InboundMessage, outcome: Outcome) -> None:
    log.info("queue_id=%d rcpt=<%s> %s: %s", row.id, row.recipient, outcome.state.value,
             outcome.summary)


def claim(runtime: Runtime, token: str) -> int | None:
    """Claim the next due inbound row for TOKEN, in a transaction of its own."""
    with runtime.db.session() as session:
        return claims.claim_next(session, runtime.clock.now(), token, runtime.config.processing)


@dataclass(frozen=True)
class Finishing:
    """A claimed row, prepared, waiting for the transaction that records it."""

    inbound_id: int
    token: str
    preparation: Preparation
    # Claim the lane's next row in the same commit.
    claim_another: bool


Finished = tuple[Outcome | None, int | None]


def finish(runtime: Runtime, items: list[Finishing]) -> list[Finished]:
    """Record ITEMS in one transaction (one commit): each claimed row is processed with what
    was prepared for it, and its lane's next row claimed. An outcome is None where the claim
    was lost meanwhile (another worker took the row over after the lease)."""
    if all(item.preparation.ready for item in items):
        try:
            return _finish_together(runtime, items)
        except NotTogether as failed:
            # Its work and the others' went with the rolled-back transaction; all are done
            # again the careful way, where a failure is recorded on its row alone and a lost
            # claim drops that row's work only.
            log.info("queue_id=%d %s; its batch of %d is finished again row by row",
                     failed.inbound_id, failed.why, len(items))
    return _finish_each(runtime, items)


class NotTogether(Exception):
    """A row `_finish_together` cannot finish: its handler raised (the exception is the
    __cause__), or its claim was lost meanwhile."""

    def __init__(self, inbound_id: int, why: str) -> None:
        super().__init__(inbound_id, why)
        self.inbound_id = inbound_id
        self.why = why


def _finish_together(runtime: Runtime, items: list[Finishing]) -> list[Finished]:
    """`finish` on the way nearly every row takes: prepared without a failure, its claim
    still held, its handler succeeds. The handler gets the row as the preparation read it
    (nothing it reads of it changes), the row is written finished by one statement on the
    table that also checks the claim, and there is no savepoint: a handler that raises, or a
    claim found lost, undoes the whole transaction (NotTogether), so no work is kept for a
    row another worker has taken over."""
    now = runtime.clock.now()
    config = runtime.config.processing
    results: list[Finished] = []
    with runtime.db.session() as session:
        connection = session.connection()
        for item in items:
            outcome = _handled(session, runtime, item)
            if not claims.mark_finished(connection, item.inbound_id, item.token,
                                        outcome.state, outcome.summary, now):
                raise NotTogether(item.inbound_id, "was taken over by another worker")
            following = claims.claim_next_on(connection, now, item.token, config) \
                if item.claim_another else None
            results.append((outcome, following))
    # Logged once committed: a batch done again row by row would log its outcomes twice.
    for item, (done, _) in zip(items, results, strict=True):
        if done is not None and item.preparation.row is not None:
            _log_outcome(item.preparation.row, done)
    return results


def _handled(session: Session, runtime: Runtime, item: Finishing) -> Outcome:
    row = item.preparation.row
    assert row is not None
    try:
        delivery = build_delivery(session, runtime, row, item.preparation)
        return HANDLERS[DestinationKind(row.destination)](session, runtime, delivery)
    except Exception as exc:
        raise NotTogether(item.inbound_id, f"failed ({type(exc).__name__})") from exc


def _log_taken_over(inbound_id: int) -> None:
    log.warning("queue_id=%d taken over by another worker; its work here is dropped",
                inbound_id)


def _finish_each(runtime: Runtime, items: list[Finishing]) -> list[Finished]:
    """`finish` for a batch with a failure: each row loaded and handled in a savepoint of its
    own, so a failure undoes only that row's work and is recorded on it."""
    now = runtime.clock.now()
    results: list[Finished] = []
    with runtime.db.session() as session:
        for item in items:
            row = claims.claimed_row(session, item.inbound_id, item.token)
            if row is None:
                _log_taken_over(item.inbound_id)
            outcome = process_row(session, runtime, row, now, item.preparation) if row else None
            following = claims.claim_next(session, now, item.token, runtime.config.processing) \
                if item.claim_another else None
            results.append((outcome, following))
    return results


class Finisher:
    """Finishes the rows of all lanes that are ready together, in one transaction, as the
    spool's group commit stores arrivals: under load the cost of a commit is shared."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.waiting: list[tuple[Finishing, asyncio.Future[Finished]]] = []
        self.draining: asyncio.Task[None] | None = None

    async def finish(self, item: Finishing) -> Finished:
        future: asyncio.Future[Finished] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, []
            try:
                results = await self.runtime.db.run(finish, self.runtime,
                                                    [item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


def process_batch(runtime: Runtime, limit: int = BATCH_SIZE) -> list[Outcome]:
    """Process up to LIMIT due inbound rows, one after the other, in this thread."""
    token = claims.new_token(runtime.worker_id)
    outcomes: list[Outcome] = []
    inbound_id = claim(runtime, token)
    while inbound_id is not None:
        item = Finishing(inbound_id, token, prepare(runtime, inbound_id),
                         claim_another=len(outcomes) + 1 < limit)
        [(outcome, inbound_id)] = finish(runtime, [item])
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def process_one(runtime: Runtime) -> Outcome | None:
    """Process the oldest due inbound row; None when there is nothing to do."""
    outcomes = process_batch(runtime, limit=1)
    return outcomes[0] if outcomes else None


class InboundWorker:
    """`processing.workers` lanes; each claims a row, prepares it in the preparation pool (off
    the database writer), and finishes it through the database's one place for writes."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.lanes = max(1, runtime.config.processing.workers)
        self.preparing = ThreadPoolExecutor(max_workers=self.lanes,
                                            thread_name_prefix="listd-prepare")
        self.finisher = Finisher(runtime)
        # Held by the one idle lane that claims and waits for the wake-up signal (_listen).
        self.listening = asyncio.Lock()

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            await asyncio.gather(*(self._lane(stopping) for _ in range(self.lanes)))
        finally:
            self.preparing.shutdown(wait=False, cancel_futures=True)

    async def _lane(self, stopping: asyncio.Event) -> None:
        runtime = self.runtime
        token = claims.new_token(runtime.worker_id)
        inbound_id: int | None = None
        while not stopping.is_set():
            try:
                if inbound_id is None:
                    inbound_id = await self._listen(token, stopping)
                if inbound_id is None:
                    continue
                inbound_id = await self._work_on(inbound_id, token, stopping)
            except Exception:
                log.exception("inbound worker: database failure; retrying shortly")
                await self._release_quietly(inbound_id, token)
                inbound_id = None
                await wait_for_any(asyncio.Event(), stopping, IDLE_POLL_SECONDS)
        await self._release_quietly(inbound_id, token)

    async def _listen(self, token: str, stopping: asyncio.Event) -> int | None:
        """A row claimed for an idle lane, or None once stopping. One idle lane at a time
        claims and waits for the wake-up signal, so a message stored wakes one lane, not
        every idle one (an empty claim is a write transaction of its own). The lane that
        gets a row hands the listening on and the next one claims at once, so rows stored
        together are taken up by as many lanes."""
        signal = self.runtime.signals.inbound
        async with self.listening:
            while not stopping.is_set():
                signal.clear()
                inbound_id = await self.runtime.db.run(claim, self.runtime, token)
                if inbound_id is not None:
                    return inbound_id
                await wait_for_any(signal, stopping, IDLE_POLL_SECONDS)
        return None

    async def _work_on(self, inbound_id: int, token: str, stopping: asyncio.Event) -> int | None:
        loop = asyncio.get_running_loop()
        preparation = await loop.run_in_executor(self.preparing, prepare, self.runtime,
                                                 inbound_id)
        outcome, following = await self.finisher.finish(
            Finishing(inbound_id, token, preparation, claim_another=not stopping.is_set()))
        if outcome is not None and outcome.queued_mail:
            self.runtime.signals.mail_queued()
        return following

    async def _release_quietly(self, inbound_id: int | None, token: str) -> None:
        """Give the lane's claim back (else it waits for the lease); best effort."""
        if inbound_id is None:
            return
        try:
            await self.runtime.db.run(self._release, inbound_id, token)
        except Exception:
            log.exception("queue_id=%d: the claim could not be given back; it lapses after "
                          "the lease", inbound_id)

    def _release(self, inbound_id: int, token: str) -> None:
        with self.runtime.db.session() as session:
            claims.release(session, inbound_id, token)


async def wait_for_any(signal: asyncio.Event, stopping: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(signal.wait()), asyncio.ensure_future(stopping.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
