"""Sending quotas: a smooth per-process rate, and per-minute/hour/day caps shared by all.

Mail over a quota is not failed: it stays queued, and is claimed once the window has room,
so a newsletter to 10,000 members under a 1,000-per-hour cap goes out over ten hours.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from listd.config import QuotaConfig
from listd.distribute.claims import sent_since

WINDOWS = (("per_minute", dt.timedelta(minutes=1)), ("per_hour", dt.timedelta(hours=1)),
           ("per_day", dt.timedelta(days=1)))


class RateLimiter:
    """A token bucket: RATE messages per second, at most one second's worth at once."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = float(rate)
        self.updated = clock()

    async def take(self, wanted: int) -> int:
        """Wait until at least one message may go; return how many of WANTED may go now."""
        if self.rate <= 0:
            return wanted
        while True:
            now = self.clock()
            self.tokens = min(float(self.rate), self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                granted = min(wanted, int(self.tokens))
                self.tokens -= granted
                return granted
            await asyncio.sleep((1 - self.tokens) / self.rate)


class WindowQuota:
    """The per-minute/hour/day caps, counted from the queue itself (all processes' sends)."""

    def __init__(self, config: QuotaConfig) -> None:
        self.caps = [(window, getattr(config, name)) for name, window in WINDOWS
                     if getattr(config, name) > 0]

    @property
    def limited(self) -> bool:
        return bool(self.caps)

    def allowance(self, session: Session, now: dt.datetime, unrecorded: int,
                  wanted: int) -> int:
        """How many of WANTED may be claimed now; UNRECORDED are in flight, not yet counted."""
        allowed = wanted
        for window, cap in self.caps:
            allowed = min(allowed, cap - sent_since(session, now - window) - unrecorded)
        return max(allowed, 0)
