"""Periodic jobs of `listd serve` (held-post expiry, …): one entry each in JOBS.

A job is blocking database work run through `runtime.db.run`; it must be safe to run in
several processes at once (each decision is conditional), so no job needs a leader. When a
job is due is measured on the runtime's clock, so a test that moves the clock sees it run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from listd.bounce.lifecycle import bounce_lifecycle_job
from listd.digest.store import digest_job
from listd.post_send import release_due
from listd.posting.held_reminder import remind_moderators
from listd.posting.moderation import expire_due
from listd.retention import retention_job
from listd.runtime import Runtime
from listd.tokens import purge_spent_tokens
from listd.web.purge import purge_web_state

log = logging.getLogger("listd.maintenance")

# How often (real seconds) the worker looks whether a job is due; looking costs nothing.
TICK_SECONDS = 1.0


@dataclass(frozen=True)
class Job:
    name: str
    # Returns how many things it did, for the log.
    run: Callable[[Runtime], int]
    every: dt.timedelta


JOBS: tuple[Job, ...] = (
    Job("held-expiry", expire_due, dt.timedelta(minutes=5)),
    Job("held-reminder", remind_moderators, dt.timedelta(hours=1)),
    Job("bounce-lifecycle", bounce_lifecycle_job, dt.timedelta(hours=1)),
    Job("token-purge", purge_spent_tokens, dt.timedelta(hours=6)),
    # Bounded per run: a backlog is worked off a slice an hour, never in one long transaction.
    Job("retention", retention_job, dt.timedelta(hours=1)),
    # Every tick: a digest whose posts just passed a threshold goes out at once.
    Job("digests", digest_job, dt.timedelta(0)),
    Job("web-purge", purge_web_state, dt.timedelta(hours=1)),
    # A send scheduled with `listd post send --at` goes out within a minute of its time.
    Job("post-sends", release_due, dt.timedelta(minutes=1)),
)


class MaintenanceWorker:
    def __init__(self, runtime: Runtime, jobs: tuple[Job, ...] = JOBS) -> None:
        self.runtime = runtime
        self.jobs = jobs
        self.next_run: dict[str, dt.datetime] = {}

    async def run_due(self) -> None:
        now = self.runtime.clock.now()
        for job in self.jobs:
            if self.next_run.get(job.name, now) > now:
                continue
            try:
                done = await self.runtime.db.run(job.run, self.runtime)
            except Exception:
                log.exception("job %s failed; it runs again at its next turn", job.name)
                done = 0
            if done:
                log.info("job %s: %d done", job.name, done)
                self.runtime.signals.mail_queued()
            self.next_run[job.name] = self.runtime.clock.now() + job.every

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            await self.run_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), TICK_SECONDS)
