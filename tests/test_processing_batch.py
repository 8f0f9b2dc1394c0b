"""Rows finished together (worker.finish): on the usual path there is no savepoint, so a
handler that raises undoes the whole transaction and the batch is done again row by row. The
others' work is then recorded once, and the failure on its own row alone."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.models import InboundMessage, InboundState, OutboundMessage
from listd.processing import claims, handlers
from listd.processing.delivery import Delivery, Outcome
from listd.processing.preparation import prepare
from listd.processing.worker import Finishing, claim, finish
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind, Route, parse_local_part
from listd.smtp_in.spool import Envelope, store_inbound
from tests.support.lists import make_list

LIST = "club@lists.example.org"
ALICE = "alice@example.org"
BOB = "bob@example.org"


def store_post(db: Database, sender: str, subject: str) -> int:
    raw = (f"From: {sender}\r\nTo: {LIST}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject}@example.org>\r\n\r\nHello.\r\n").encode()
    with db.session() as session:
        route = Route(LIST, parse_local_part("club", "lists.example.org", "listd"),
                      find_list(session, LIST).id)
        [row_id] = store_inbound(session, raw, Envelope(sender, [route], "test"))
    return row_id


def claimed_and_prepared(runtime: Runtime) -> Finishing:
    token = claims.new_token(runtime.worker_id)
    row_id = claim(runtime, token)
    assert row_id is not None
    return Finishing(row_id, token, prepare(runtime, row_id), claim_another=False)


@pytest.fixture
def failing_for_bob(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: the post handler raises for BOB's posts (a failure that may pass)."""
    real = handlers.HANDLERS[DestinationKind.POST]

    def failing(session: object, runtime: Runtime, delivery: Delivery) -> Outcome:
        if delivery.sender == BOB:
            raise OSError("injected fault")
        return real(session, runtime, delivery)  # type: ignore[arg-type]
    monkeypatch.setitem(handlers.HANDLERS, DestinationKind.POST, failing)


def test_a_failing_row_in_a_batch_leaves_the_others_recorded_once(
        db: Database, config: Config, clock: OffsetClock, failing_for_bob: None) -> None:
    make_list(db, config, LIST, subscribers=(ALICE, BOB))
    runtime = Runtime.create(config, db, clock)
    alice_row, bob_row = store_post(db, ALICE, "first"), store_post(db, BOB, "second")
    items = [claimed_and_prepared(runtime), claimed_and_prepared(runtime)]
    assert [item.inbound_id for item in items] == [alice_row, bob_row]

    [(alice, _), (bob, _)] = finish(runtime, items)

    assert alice is not None and alice.state is InboundState.DONE
    assert bob is not None and bob.state is InboundState.QUEUED
    assert "retried" in bob.summary and "injected fault" in bob.summary
    with db.session() as session:
        rows = {row.id: row for row in session.scalars(select(InboundMessage))}
        posts = session.scalar(select(func.count()).select_from(OutboundMessage).where(
            OutboundMessage.kind == "post"))
    assert (rows[alice_row].state, rows[alice_row].attempts, rows[alice_row].claimed_by) == \
        (InboundState.DONE, 1, None)
    assert rows[alice_row].outcome == alice.summary
    assert (rows[bob_row].state, rows[bob_row].attempts, rows[bob_row].claimed_by) == \
        (InboundState.QUEUED, 1, None)
    assert rows[bob_row].next_attempt_at > rows[alice_row].processed_at  # type: ignore[operator]
    # Alice's post was distributed once, though its handler ran twice (the first undone).
    assert posts == 1


def test_a_row_taken_over_is_left_to_its_new_worker(
        db: Database, config: Config, clock: OffsetClock) -> None:
    make_list(db, config, LIST, subscribers=(ALICE,))
    runtime = Runtime.create(config, db, clock)
    row_id = store_post(db, ALICE, "first")
    item = claimed_and_prepared(runtime)
    with db.session() as session:
        claims.release(session, row_id, item.token)
        assert claims.claim_next(session, clock.now(), "other/1", config.processing) == row_id

    [(outcome, following)] = finish(runtime, [item])

    assert (outcome, following) == (None, None)
    with db.session() as session:
        row = session.get_one(InboundMessage, row_id)
        assert (row.state, row.attempts, row.claimed_by) == (InboundState.QUEUED, 0, "other/1")
