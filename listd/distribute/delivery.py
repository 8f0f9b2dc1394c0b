"""The delivery worker: claim due recipients, keep every relay connection busy, record answers.

Three kinds of task share one in-memory window of claimed rows:

- the claimer tops the window up (one transaction per batch, within the quotas);
- one sender per connection takes a few jobs at a time (respecting the per-domain limit and
  the rate) and sends them pipelined on its own reused connection;
- the recorder writes the answers back, as many per transaction as have arrived meanwhile.

The window never holds more than about two batches, which bounds both memory and the number
of recipients a crash can make receive a post twice. One slow or failing recipient holds
only its own connection's next few jobs, never the queue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

from listd.bounce.events import record_relay_refusals
from listd.distribute import claims
from listd.distribute.claims import Claimed, OutboundInfo
from listd.distribute.domain_limit import DomainLimit
from listd.distribute.outcome import SendResult, deferred
from listd.distribute.personal import UnsubscribeTokens
from listd.distribute.prepared import Prepared, prepare
from listd.distribute.quota import RateLimiter, WindowQuota
from listd.distribute.smtp_client import Job
from listd.distribute.transport import Connection, Transport
from listd.distribute.verp import VerpSigner
from listd.runtime import Runtime

log = logging.getLogger("listd.distribute")

# Jobs a sender takes at once: enough to keep a pipelined connection full, few enough that
# the connections share a batch evenly.
CHUNK = 16
IDLE_POLL_SECONDS = 1.0
LEASE_CHECK = dt.timedelta(minutes=1)
# Rendered bodies kept in memory, by total size.
BODY_CACHE_BYTES = 64 * 1024 * 1024


class BodyCache:
    """Prepared outbound messages (signed, wire-ready), the least recently used dropped first."""

    def __init__(self, prepare: Callable[[OutboundInfo], Prepared],
                 budget: int = BODY_CACHE_BYTES) -> None:
        self.prepare = prepare
        self.budget = budget
        self.items: OrderedDict[int, Prepared] = OrderedDict()
        self.size = 0

    def __contains__(self, outbound_id: int) -> bool:
        return outbound_id in self.items

    def get(self, outbound_id: int) -> Prepared:
        self.items.move_to_end(outbound_id)
        return self.items[outbound_id]

    def add(self, info: OutboundInfo) -> None:
        prepared = self.prepare(info)
        self.items[info.outbound_id] = prepared
        self.size += len(prepared.body)
        while self.size > self.budget and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.size -= len(old.body)


def recipient_of(item: tuple[Claimed, Job]) -> str:
    return item[0].recipient


class DeliveryWorker:
    def __init__(self, runtime: Runtime, transport: Transport) -> None:
        self.runtime = runtime
        self.transport = transport
        config = runtime.config.outbound
        self.batch_size = max(1, config.batch_size)
        # Claimed but unrecorded rows, at most: what a crash could send twice.
        self.window = 2 * self.batch_size
        self.give_up_after = dt.timedelta(seconds=config.give_up_after)
        # Claimed rows with their job, built in the database thread (signing is CPU work).
        self.ready: deque[tuple[Claimed, Job]] = deque()
        self.work = asyncio.Event()
        self.results: list[tuple[Claimed, SendResult]] = []
        self.have_results = asyncio.Event()
        self.in_flight = 0
        # Results being written: still outstanding until their transaction commits.
        self.recording = 0
        self.bodies = BodyCache(lambda info: prepare(info, runtime.keyring, runtime.config))
        self.domains = DomainLimit(config.per_domain_connections)
        self.rate = RateLimiter(config.quota.rate)
        self.quota = WindowQuota(config.quota)
        self.signer = VerpSigner(runtime.secret)
        self.tokens = UnsubscribeTokens(runtime.secret)
        self.next_lease_check = dt.datetime.min
        self.sent_total = 0

    @property
    def outstanding(self) -> int:
        """Claimed rows not yet recorded: the most a crash now could send twice."""
        return len(self.ready) + self.in_flight + len(self.results) + self.recording

    async def run(self, stopping: asyncio.Event) -> None:
        connections = max(1, self.runtime.config.outbound.connections)
        senders = [asyncio.create_task(self._sender(stopping)) for _ in range(connections)]
        try:
            await self._pump(stopping)
        finally:
            self.work.set()
            await asyncio.gather(*senders, return_exceptions=True)
            leftovers = [c.entry_id for c, _ in self.ready]
            self.ready.clear()
            done, self.results = self.results, []
            await self._cycle(done, 0, leftovers)

    # -- the database side: record answers and claim more, in one transaction -------------

    async def _pump(self, stopping: asyncio.Event) -> None:
        signal = self.runtime.signals.outbound
        while not stopping.is_set():
            signal.clear()
            self.have_results.clear()
            done, self.results = self.results, []
            # Claim ahead while the connections still have work, within the window.
            room = min(self.batch_size - len(self.ready),
                       self.window - self.outstanding - len(done))
            claimed = await self._cycle(done, max(room, 0), [])
            if claimed or (done and self.ready):
                continue
            await wait_for_any_of((signal, self.have_results), stopping, IDLE_POLL_SECONDS)

    async def _cycle(self, done: list[tuple[Claimed, SendResult]], wanted: int,
                     unsent: list[int]) -> int:
        if not (done or wanted or unsent):
            return 0
        self.recording = len(done)
        try:
            claimed = await self.runtime.db.run(self._db_cycle, done, wanted, unsent)
        except Exception:
            # Recorded rows stay claimed; the lease gives them back to be sent again.
            log.exception("delivery: recording %d results / claiming failed", len(done))
            return 0
        finally:
            self.recording = 0
        self._log(done)
        if claimed:
            self.work.set()
        return claimed

    def _db_cycle(self, done: list[tuple[Claimed, SendResult]], wanted: int,
                  unsent: list[int]) -> int:
        runtime = self.runtime
        now = runtime.clock.now()
        rows: list[Claimed] = []
        infos: list[OutboundInfo] = []
        with runtime.db.session() as session:
            if done:
                list_of = {oid: self.bodies.get(oid).info.list_id
                           for oid in {c.outbound_id for c, _ in done} if oid in self.bodies}
                refusals = claims.record_results(session, now, self.give_up_after, done,
                                                 list_of)
                record_relay_refusals(session, runtime, refusals)
            claims.release(session, unsent)
            if wanted and now >= self.next_lease_check:
                self.next_lease_check = now + LEASE_CHECK
                released = claims.release_expired_leases(session, now)
                if released:
                    log.warning("took over %d deliveries whose claim had expired", released)
            if wanted and self.quota.limited:
                # The rows recorded just above are counted by the query now.
                wanted = self.quota.allowance(session, now, self.outstanding - len(done),
                                              wanted)
            if wanted > 0:
                rows = claims.claim_due(session, now, runtime.worker_id, wanted)
                missing = {r.outbound_id for r in rows if r.outbound_id not in self.bodies}
                infos = claims.load_outbound(session, missing) if missing else []
        for info in infos:
            self.bodies.add(info)
        # Built here, in the database thread, not in the event loop: a personal message is
        # DKIM-signed per recipient (a millisecond of CPU each).
        self.ready.extend([(row, self._job(row)) for row in rows])
        return len(rows)

    # -- sending --------------------------------------------------------------------------

    def _job(self, item: Claimed) -> Job:
        prepared = self.bodies.get(item.outbound_id)
        info = prepared.info
        sender = info.envelope_sender
        if info.verp and info.list_name and info.domain:
            sender = self.signer.sender(info.list_name, info.domain, item.entry_id)
        body = prepared.body
        if prepared.personal:
            token = self.tokens.token(info.list_id, item.recipient) \
                if info.list_id is not None else ""
            body = prepared.body_for(token)
        return Job(sender, item.recipient, body, prepared.eight_bit)

    async def _sender(self, stopping: asyncio.Event) -> None:
        connection = self.transport.connect()
        try:
            while True:
                self.work.clear()
                if stopping.is_set():
                    return
                if not self.ready:
                    await wait_for_any_of((self.work,), stopping, IDLE_POLL_SECONDS)
                    continue
                allowed = await self.rate.take(CHUNK)
                batch, held = self.domains.take(self.ready, allowed, recipient_of)
                if not batch:
                    room = self.domains.waiter(self.ready, recipient_of)
                    await wait_for_any_of((room,), stopping, IDLE_POLL_SECONDS)
                    room.set()  # retired: a later give_back wakes a sender still waiting
                    continue
                try:
                    await self._send(connection, batch)
                finally:
                    self.domains.give_back(held)
        finally:
            await connection.close()

    async def _send(self, connection: Connection,
                    taken: Sequence[tuple[Claimed, Job]]) -> None:
        batch = [item for item, _ in taken]
        self.in_flight += len(batch)
        try:
            results = await connection.send_many([job for _, job in taken])
        except Exception as exc:
            log.exception("delivery: sending failed")
            results = [deferred(f"internal error while sending: {exc!r}")] * len(batch)
        finally:
            self.in_flight -= len(batch)
        self.results.extend(zip(batch, results, strict=True))
        self.have_results.set()

    def _log(self, done: list[tuple[Claimed, SendResult]]) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        for item, result in done:
            if result.status.value != "sent" or log.isEnabledFor(logging.DEBUG):
                log.info("entry=%d outbound=%d rcpt=<%s> %s: %s", item.entry_id,
                         item.outbound_id, item.recipient, result.status.value,
                         result.response[:200])
        self.sent_total += sum(1 for _, r in done if r.status.value == "sent")
        if done:  # an idle round is not news
            log.info("delivery: %d recorded (%d sent in all)", len(done), self.sent_total)


async def wait_for_any_of(events: Sequence[asyncio.Event], stopping: asyncio.Event,
                          timeout: float) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in (*events, stopping)]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
