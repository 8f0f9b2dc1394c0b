"""The webhook worker of `listd serve`: POSTs queued events, signed, apart from mail.

It runs in its own task with its own bounded concurrency and timeouts, so an endpoint that
hangs or refuses costs mail nothing; an event waits in the database until it is answered 2xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import httpx

from listd.api import webhook_queue
from listd.api.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from listd.api.webhook_queue import DueEvent
from listd.runtime import Runtime

log = logging.getLogger("listd.webhooks")

BATCH = 20
CONCURRENCY = 4
TIMEOUT_SECONDS = 10.0
IDLE_SECONDS = 2.0
USER_AGENT = "listd-webhooks"


@dataclass(frozen=True)
class Answer:
    delivered: bool
    text: str


class WebhookWorker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.limit = asyncio.Semaphore(CONCURRENCY)

    async def run(self, stopping: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False,
                                     headers={"User-Agent": USER_AGENT}) as client:
            while not stopping.is_set():
                try:
                    worked = await self._round(client)
                except Exception:
                    log.exception("webhook round failed; trying again shortly")
                    worked = False
                if not worked:
                    await _sleep_or_stop(stopping, IDLE_SECONDS)

    async def _round(self, client: httpx.AsyncClient) -> bool:
        runtime = self.runtime
        await runtime.db.run(self._report_posts)
        due = await runtime.db.run(self._claim)
        # One endpoint's events go one after the other, in the order they happened (a CRM
        # must see a subscription before its cancellation); endpoints side by side.
        by_endpoint: dict[str, list[DueEvent]] = {}
        for event in due:
            by_endpoint.setdefault(event.url, []).append(event)
        await asyncio.gather(*(self._deliver_in_order(client, events)
                               for events in by_endpoint.values()))
        return len(due) == BATCH

    async def _deliver_in_order(self, client: httpx.AsyncClient, events: list[DueEvent]
                                ) -> None:
        for event in sorted(events, key=lambda e: e.delivery_id):
            await self._deliver(client, event)

    def _report_posts(self) -> int:
        with self.runtime.db.session() as session:
            return webhook_queue.report_finished_posts(session, self.runtime.clock.now())

    def _claim(self) -> list[DueEvent]:
        with self.runtime.db.session() as session:
            return webhook_queue.claim_due(session, self.runtime.clock.now(),
                                           self.runtime.worker_id, BATCH)

    async def _deliver(self, client: httpx.AsyncClient, event: DueEvent) -> None:
        async with self.limit:
            answer = await post_event(client, event, int(self.runtime.clock.now().timestamp()))
        if not answer.delivered:
            log.info("webhook %s for delivery %d: %s", event.url, event.delivery_id,
                     answer.text)
        await self.runtime.db.run(self._record, event, answer)

    def _record(self, event: DueEvent, answer: Answer) -> None:
        with self.runtime.db.session() as session:
            webhook_queue.record_answer(session, event, self.runtime.clock.now(),
                                        self.runtime.worker_id, answer.delivered, answer.text)


async def post_event(client: httpx.AsyncClient, event: DueEvent, timestamp: int) -> Answer:
    body = event.body.encode()
    headers = {"Content-Type": "application/json", EVENT_HEADER: event.event,
               DELIVERY_HEADER: str(event.delivery_id), TIMESTAMP_HEADER: str(timestamp),
               SIGNATURE_HEADER: sign(event.secret, timestamp, body)}
    try:
        response = await client.post(event.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Answer(False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    text = f"{response.status_code} {response.reason_phrase}"
    return Answer(200 <= response.status_code < 300, text)


async def _sleep_or_stop(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
