"""A failure of ours shunts the mail visibly (issue 19, 7): kept, listed by
`listd inbound ls --failed`, the owners told once, and `listd inbound retry` processes it."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import InboundMessage, InboundState
from listd.processing import handlers
from listd.processing.delivery import Delivery, Outcome
from listd.runtime import Runtime
from listd.serve import Daemon
from listd.smtp_in.routing import DestinationKind
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import sent_to, settle
from tests.support.waiting import wait_until

LIST = "club@lists.example.org"
OWNER = "owner@example.org"
ALICE = "alice@example.org"
BOB = "bob@example.org"


def row_of(db: Database) -> InboundMessage:
    with db.session() as session:
        row: InboundMessage = session.scalars(select(InboundMessage)).one()
        return row


@pytest.fixture
def broken_posts(monkeypatch: pytest.MonkeyPatch) -> list[type[Exception]]:
    """Fault injection: the post handler raises the first exception class in the list."""
    faults: list[type[Exception]] = []
    real = handlers.HANDLERS[DestinationKind.POST]

    def failing(session: object, runtime: Runtime, delivery: Delivery) -> Outcome:
        if faults:
            raise faults[0]("injected fault")
        return real(session, runtime, delivery)  # type: ignore[arg-type]
    monkeypatch.setitem(handlers.HANDLERS, DestinationKind.POST, failing)
    return faults


async def test_a_programming_error_is_logged_shunted_told_once_and_retried(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI,
        broken_posts: list[type[Exception]], caplog: pytest.LogCaptureFixture) -> None:
    make_list(db, config, LIST, owners=(OWNER,), subscribers=(ALICE, BOB))
    broken_posts.append(TypeError)
    await in_thread(post, daemon.port, ALICE, LIST, "Meeting", "See you.\n")
    await wait_until(lambda: row_of(db).state is InboundState.SHUNTED, what="shunted")
    await settle(db)

    row = row_of(db)
    assert row.attempts == 1 and "TypeError: injected fault" in (row.outcome or "")
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
    notice, = sent_to(config, OWNER)
    assert f"listd inbound retry {row.id}" in notice.message.get_body(("plain",)).get_content()
    failed = json.loads(listd_cli.ok("inbound", "ls", "--failed", "--json").output)
    assert [(f["id"], f["state"]) for f in failed] == [(row.id, "shunted")]

    broken_posts.clear()
    assert f"#{row.id}" in listd_cli.ok("inbound", "retry", str(row.id)).output
    await wait_until(lambda: row_of(db).state is InboundState.DONE, what="processed again")
    await settle(db)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Meeting"]
    assert len(sent_to(config, OWNER)) == 1
    assert json.loads(listd_cli.ok("inbound", "ls", "--failed", "--json").output) == []


async def test_a_passing_failure_is_retried_then_shunted_at_the_fifth(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock,
        broken_posts: list[type[Exception]]) -> None:
    make_list(db, config, LIST, owners=(OWNER,), subscribers=(ALICE,))
    broken_posts.append(OSError)
    await in_thread(post, daemon.port, ALICE, LIST, "Meeting", "See you.\n")
    for attempt in range(1, 5):
        await wait_until(lambda n=attempt: row_of(db).attempts == n, what=f"attempt {attempt}")
        assert row_of(db).state is InboundState.QUEUED
        assert sent_to(config, OWNER) == []
        clock.advance(dt.timedelta(hours=1))
    await wait_until(lambda: row_of(db).state is InboundState.SHUNTED, what="shunted")
    await settle(db)
    assert row_of(db).attempts == 5
    assert len(sent_to(config, OWNER)) == 1


def test_retry_names_what_it_cannot_retry(listd_cli: CLI) -> None:
    for args, error in ((["inbound", "retry", "7"], "no inbound mail #7"),
                        (["inbound", "retry"], "give either an inbound ID or --all")):
        result = listd_cli(*args)
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [f"listd: error: {error}"]
