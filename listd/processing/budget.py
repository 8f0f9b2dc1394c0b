"""What one inbound message may cost: processing time in all, and DNS time within it.

A message is worked on outside the database writer (preparation.py), step by step; between
steps, and between chunks while parsing, the budget is checked. A message that runs out is
given up as failed, with a reason that names the limit, instead of holding a worker for as
long as its MIME structure makes the `email` package work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from listd.config import ProcessingConfig


class BudgetExceeded(Exception):
    """A message cost more than `processing.time_budget`; not the sender's error to retry."""


@dataclass
class Budget:
    seconds: float
    dns_seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    @classmethod
    def of(cls, config: ProcessingConfig) -> Budget:
        return cls(seconds=config.time_budget, dns_seconds=config.dns_budget)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def dns_left(self, at_most: float) -> float:
        """Seconds the next DNS check may take: AT_MOST, within what is left of both budgets."""
        left = min(self.dns_seconds, self.seconds) - self.elapsed()
        return max(0.0, min(at_most, left))

    def check(self, doing: str) -> None:
        if self.elapsed() > self.seconds:
            raise BudgetExceeded(
                f"processing needed more than {self.seconds:g}s (processing.time_budget), "
                f"given up while {doing}")
