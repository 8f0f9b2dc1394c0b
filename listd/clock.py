"""Time as listd sees it: naive UTC everywhere, and a clock that tests can move."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


def utcnow() -> dt.datetime:
    # Naive UTC: SQLite keeps no time zone, so both backends store and compare the same values.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return utcnow()


@dataclass
class OffsetClock:
    """The system clock shifted by an offset, so tests can jump days ahead without sleeping."""

    offset: dt.timedelta = field(default_factory=dt.timedelta)

    def now(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, delta: dt.timedelta) -> None:
        self.offset += delta
