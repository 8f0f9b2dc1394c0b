"""The per-domain connection limit (`outbound.per_domain_connections`), as Postfix's
destination concurrency: at most LIMIT relay connections carry mail for one recipient
domain at once, however many recipients each one's chunk holds.

It costs a counter per domain while the limit is not reached. A connection that finds
only domains at their limit registers one waiter, under those domains; a connection that
gives a domain back wakes one waiter of that domain, never every sender.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# Ready items looked past, at most, for one whose domain has room.
LOOK_AHEAD = 64


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


class DomainLimit:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy: dict[str, int] = {}
        self.waiters: dict[str, deque[asyncio.Event]] = {}

    def take(self, ready: deque[T], count: int,
             address_of: Callable[[T], str]) -> tuple[list[T], set[str]]:
        """Up to COUNT items from READY whose domain this connection may carry, and the
        domains it now holds (give them back with `give_back`). Others keep their place."""
        taken: list[T] = []
        held: set[str] = set()
        skipped: list[T] = []
        while ready and len(taken) < count and len(skipped) <= LOOK_AHEAD:
            item = ready.popleft()
            domain = domain_of(address_of(item))
            if domain in held or self._hold(domain):
                held.add(domain)
                taken.append(item)
            else:
                skipped.append(item)
        ready.extendleft(reversed(skipped))
        return taken, held

    def _hold(self, domain: str) -> bool:
        if self.limit <= 0:
            return True
        busy = self.busy.get(domain, 0)
        if busy >= self.limit:
            return False
        self.busy[domain] = busy + 1
        return True

    def give_back(self, held: set[str]) -> None:
        if self.limit <= 0:
            return
        for domain in held:
            left = self.busy[domain] - 1
            if left:
                self.busy[domain] = left
            else:
                del self.busy[domain]
            self._wake_one(domain)

    def _wake_one(self, domain: str) -> None:
        waiters = self.waiters.get(domain)
        while waiters:
            waiter = waiters.popleft()
            if not waiter.is_set():
                waiter.set()
                break
        if waiters is not None and not waiters:
            del self.waiters[domain]

    def waiter(self, ready: deque[T], address_of: Callable[[T], str]) -> asyncio.Event:
        """An event set when a domain among the first ready items gets room."""
        event = asyncio.Event()
        for domain in {domain_of(address_of(item)) for item in list(ready)[:LOOK_AHEAD]}:
            self.waiters.setdefault(domain, deque()).append(event)
        return event
