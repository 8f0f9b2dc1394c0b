"""The per-domain connection limit, alone: what a connection may take, and who is woken."""

from __future__ import annotations

import asyncio
from collections import deque

from listd.distribute.domain_limit import DomainLimit


def same(address: str) -> str:
    return address


def ready(*addresses: str) -> deque[str]:
    return deque(addresses)


def test_a_connection_holds_a_domain_once_however_many_recipients_it_carries() -> None:
    limit = DomainLimit(1)
    queue = ready("a@x.org", "b@x.org", "c@y.org", "d@x.org")
    taken, held = limit.take(queue, 16, same)
    assert taken == ["a@x.org", "b@x.org", "c@y.org", "d@x.org"]
    assert held == {"x.org", "y.org"}


def test_at_the_limit_other_domains_are_taken_and_the_rest_keep_their_place() -> None:
    limit = DomainLimit(1)
    _, held = limit.take(ready("a@x.org"), 16, same)
    queue = ready("b@x.org", "c@y.org", "d@X.ORG", "e@z.org")
    taken, _ = limit.take(queue, 16, same)
    assert taken == ["c@y.org", "e@z.org"]
    assert list(queue) == ["b@x.org", "d@X.ORG"]
    limit.give_back(held)
    taken, _ = limit.take(queue, 16, same)
    assert taken == ["b@x.org", "d@X.ORG"]


def test_no_limit_keeps_no_count() -> None:
    limit = DomainLimit(0)
    for _ in range(3):
        taken, _ = limit.take(ready("a@x.org", "b@x.org"), 16, same)
        assert len(taken) == 2
    assert limit.busy == {} and limit.waiters == {}


async def test_a_freed_domain_wakes_one_waiting_connection_not_all() -> None:
    limit = DomainLimit(1)
    _, held = limit.take(ready("a@x.org"), 16, same)
    blocked = ready("b@x.org")
    waiters = [limit.waiter(blocked, same) for _ in range(3)]
    limit.give_back(held)
    await asyncio.sleep(0)
    assert [w.is_set() for w in waiters] == [True, False, False]


async def test_a_retired_waiter_does_not_swallow_the_next_wake_up() -> None:
    limit = DomainLimit(1)
    _, held = limit.take(ready("a@x.org"), 16, same)
    blocked = ready("b@x.org")
    gone = limit.waiter(blocked, same)
    gone.set()  # its connection stopped waiting (timeout) and went on
    waiting = limit.waiter(blocked, same)
    limit.give_back(held)
    assert waiting.is_set()
