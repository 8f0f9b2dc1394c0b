"""Webhooks: signed events from every door, retried after errors and downtime, kept across a
SIGKILL, and never in the way of mail."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from listd.api.signing import verify
from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.serve import Daemon
from tests.api.conftest import NEWS, OTHER, OWNER, bearer, make_key
from tests.conftest import CLI
from tests.support.http_receiver import Received, Receiver
from tests.support.process import ServeProcess
from tests.support.waiting import wait_until, wait_until_sync


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def add_webhook(listd_cli: CLI, url: str, *options: str) -> str:
    return listd_cli.ok("webhook", "add", url, *options).stdout.strip()


def events(received: list[Received]) -> list[str]:
    return [json.loads(r.body)["event"] for r in received]


def signed_by(secret: str, request: Received) -> bool:
    return verify(secret, int(request.headers["Listd-Timestamp"]), request.body,
                  request.headers["Listd-Signature"])


async def test_events_arrive_signed_for_the_lists_and_events_asked(
        daemon: Daemon, api: httpx.AsyncClient, db: Database, listd_cli: CLI,
        receiver: Receiver, two_lists: None) -> None:
    secret = add_webhook(listd_cli, receiver.url, "--list", NEWS)
    only_removals = Receiver().start()
    try:
        add_webhook(listd_cli, only_removals.url, "--event", "member.unsubscribed")
        key = bearer(make_key(db, "crm"))
        await api.post(f"/lists/{NEWS}/members", headers=key, json={"address": "new@example.org"})
        await api.post(f"/lists/{OTHER}/members", headers=key, json={"address": "x@example.org"})
        await api.delete(f"/lists/{NEWS}/members/new@example.org", headers=key)
        await wait_until(lambda: len(receiver.received) >= 2, what="two events")
        await wait_until(lambda: len(only_removals.received) >= 1, what="the removal")
    finally:
        only_removals.stop()
    assert events(receiver.received) == ["member.subscribed", "member.unsubscribed"]
    first = json.loads(receiver.received[0].body)
    assert first["list"] == NEWS and first["data"]["address"] == "new@example.org"
    assert first["data"]["how"] == "api" and first["data"]["by"] == "api:crm"
    assert all(signed_by(secret, r) for r in receiver.received)
    assert not signed_by("another-secret", receiver.received[0])
    tampered = Received("/", receiver.received[0].headers, receiver.received[0].body + b" ")
    assert not signed_by(secret, tampered)
    assert events(only_removals.received) == ["member.unsubscribed"]


async def test_a_one_click_unsubscribe_and_an_approved_list_are_events(
        daemon: Daemon, api: httpx.AsyncClient, db: Database, listd_cli: CLI,
        receiver: Receiver, two_lists: None, config: Config) -> None:
    from listd.deliverability.unsubscribe import unsubscribe_token
    from listd.lists import find_list

    add_webhook(listd_cli, receiver.url)
    listd_cli.ok("list", "request", "asso@lists.example.org", "--owner", OWNER)
    listd_cli.ok("list", "approve", "asso@lists.example.org")
    with db.reading() as session:
        list_id = find_list(session, NEWS).id
    path = f"/unsubscribe/{unsubscribe_token('test-secret', list_id, 'ann@example.org')}"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}") as web:
        answer = await web.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    await wait_until(lambda: len(receiver.received) >= 2, what="two events")
    by_event = {json.loads(r.body)["event"]: json.loads(r.body) for r in receiver.received}
    assert by_event["list.approved"]["list"] == "asso@lists.example.org"
    assert by_event["member.unsubscribed"]["data"]["how"] == "one-click"


async def test_retried_after_a_500_and_after_the_receiver_was_down(
        daemon: Daemon, api: httpx.AsyncClient, db: Database, listd_cli: CLI,
        receiver: Receiver, clock: OffsetClock, two_lists: None) -> None:
    add_webhook(listd_cli, receiver.url)
    key = bearer(make_key(db, "crm"))
    receiver.status = 500
    await api.post(f"/lists/{NEWS}/members", headers=key, json={"address": "a@example.org"})
    await wait_until(lambda: len(receiver.received) == 1, what="the first try")
    # Its answer is recorded after the receiver has it: the clock moves on only then, or the
    # retry would be put off from the later time.
    await wait_until(lambda: _attempts(db) >= 1, what="the first try recorded")
    receiver.stop()
    clock.advance(dt.timedelta(seconds=31))
    listing = json.loads(listd_cli.ok("webhook", "ls", "--json").stdout)
    assert listing[0]["url"] == receiver.url
    # Down: the next try fails to connect and is put off again.
    await wait_until(lambda: _attempts(db) >= 2, what="a try while the receiver is down")
    receiver.status = 200
    receiver.start()
    clock.advance(dt.timedelta(minutes=2))
    await wait_until(lambda: len(receiver.received) == 2, what="the retry")
    assert events(receiver.received) == ["member.subscribed"] * 2
    assert receiver.received[0].body == receiver.received[1].body
    clock.advance(dt.timedelta(hours=2))
    time.sleep(0.5)
    assert len(receiver.received) == 2, "a delivered event is not sent again"


def _attempts(db: Database) -> int:
    from sqlalchemy import func, select

    from listd.models import WebhookDelivery

    with db.reading() as session:
        return session.scalar(select(func.max(WebhookDelivery.attempts))) or 0


def test_queued_events_survive_a_sigkill(config_file: Path, db: Database, listd_cli: CLI,
                                         tmp_path: Path, two_lists: None) -> None:
    receiver = Receiver()
    receiver.start()
    receiver.stop()  # its port, closed for now
    add_webhook(listd_cli, receiver.url)
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    port = serve.http_port()
    key = bearer(make_key(db, "crm"))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1") as client:
        for n in range(5):
            assert client.post(f"/lists/{NEWS}/members", headers=key,
                               json={"address": f"m{n}@example.org"}).status_code == 201
    wait_until_sync(lambda: _attempts(db) >= 1, what="a first failed try")
    serve.kill()
    receiver.start()
    try:
        again = ServeProcess(config_file, tmp_path / "serve.log").start()
        try:
            # The back-off after a failed try is 30 s of real time here: no clock to move.
            wait_until_sync(lambda: len(receiver.received) >= 5, timeout=60,
                            what="the five events after the restart")
        finally:
            again.terminate()
    finally:
        receiver.stop()
    addresses = sorted(json.loads(r.body)["data"]["address"] for r in receiver.received)
    assert addresses == [f"m{n}@example.org" for n in range(5)]


async def test_a_dead_endpoint_never_slows_mail(daemon: Daemon, api: httpx.AsyncClient,
                                                db: Database, listd_cli: CLI, config: Config,
                                                two_lists: None) -> None:
    from tests.support.outbox import settle

    # An address nothing answers on: a connection attempt there waits for the timeout.
    add_webhook(listd_cli, "http://127.0.0.1:9/hook")
    key = bearer(make_key(db, "crm", NEWS))
    started = time.monotonic()
    answer = await api.post(f"/lists/{NEWS}/posts", headers=key,
                            json={"from": OWNER, "subject": "Hi", "text": "Hello"})
    assert answer.status_code == 202
    await settle(db)
    assert time.monotonic() - started < 10
