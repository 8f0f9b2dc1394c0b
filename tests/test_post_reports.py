"""A post's report through the real daemon: the sink's answers, bounces mailed back to the
VERP addresses, an ARF complaint, a one-click unsubscribe; the same after the purge."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.deliverability.unsubscribe import unsubscribe_token
from listd.distribute.verp import verp_token
from listd.models import MailingList, OutboundEntry, OutboundMessage
from listd.serve import Daemon
from tests.api.conftest import bearer, make_key
from tests.conftest import CLI
from tests.support.lists import make_list
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_bounce_processing import arf, bounce_back, dsn
from tests.test_distribution import NEWS
from tests.test_retention import count, quiet

OWNER = "owner@example.org"
MEMBERS = tuple(f"m{i}@example.com" for i in range(8))


def post_file(tmp_path: Path, name: str = "issue.md", text: str = "# News\n\nHello.\n") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def report(listd_cli: CLI, post: str) -> dict:
    return json.loads(listd_cli.ok("post", "report", post, "--json").output)


def tokens(db: Database, secret: str) -> dict[str, str]:
    with db.reading() as session:
        rows = session.execute(select(OutboundEntry.id, OutboundEntry.recipient)).all()
    return {recipient: verp_token(entry, secret) for entry, recipient in rows}


def list_id(db: Database) -> int:
    with db.reading() as session:
        return session.scalars(select(MailingList.id)).one()


async def test_report_counts_what_the_sink_and_the_bounces_said_and_survives_the_purge(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink, clock: OffsetClock,
        listd_cli: CLI, tmp_path: Path) -> None:
    make_list(db, config, NEWS, template="newsletter", subscribers=MEMBERS)
    sink.refuse("m6@example.com", "550 5.1.1 no such user")
    sink.refuse("m7@example.com", "451 4.3.0 try later")
    listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)), "--subject", "Issue 1")
    await wait_until(lambda: quiet(db) >= 8, timeout=20, what="the first attempts")
    assert len(sink.received) == 6
    with db.reading() as session:
        post = str(session.scalars(select(OutboundMessage.id)).one())
    first = report(listd_cli, post)
    assert first["state"] == "sending" and first["subject"] == "[news] Issue 1"
    figures = first["figures"]
    assert (figures["recipients"], figures["delivered"], figures["failed"],
            figures["deferred"]) == (8, 6, 1, 1)

    runtime = relayed_daemon.runtime
    verp = tokens(db, runtime.secret)
    await bounce_back(db, relayed_daemon.port, verp["m0@example.com"],
                      dsn("m0@example.com", "5.1.1", "550 5.1.1 User unknown"))
    await bounce_back(db, relayed_daemon.port, verp["m1@example.com"],
                      dsn("m1@example.com", "4.2.2", "452 4.2.2 Mailbox full"))
    await bounce_back(db, relayed_daemon.port, verp["m2@example.com"],
                      dsn("m2@example.com", "5.7.1", "550 5.7.1 Message rejected as spam"))
    await bounce_back(db, relayed_daemon.port, verp["m3@example.com"], arf("m3@example.com"))
    token = unsubscribe_token(config.secret or "", list_id(db), "m4@example.com")
    async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{relayed_daemon.http_port}") as http:
        answer = await http.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
    # The deferred member gets it at the retry.
    clock.advance(dt.timedelta(minutes=30))
    runtime.signals.outbound.set()
    await wait_until(lambda: sink.to("m7@example.com"), timeout=20, what="the retry")

    expected = {"recipients": 8, "delivered": 7, "deferred": 0, "pending": 0, "failed": 1,
                "bounced_hard": 1, "bounced_soft": 1, "bounced_policy": 1, "bounced": 3,
                "complaints": 1, "unsubscribed_one_click": 1, "unsubscribed_self": 0,
                "unsubscribed": 1}
    await wait_until(lambda: report(listd_cli, post)["figures"]["delivered"] == 7,
                     timeout=20, what="the retry to be recorded")
    assert report(listd_cli, post)["figures"] == expected

    clock.advance(dt.timedelta(days=8))
    await wait_until(lambda: count(db, OutboundEntry) == 0, timeout=20,
                     what="the retention job to purge delivered rows")
    await wait_until(lambda: count(db, OutboundMessage) == 0, timeout=20,
                     what="the outbound message to be purged")
    after = report(listd_cli, post)
    assert after["figures"] == expected
    assert after["subject"] == "[news] Issue 1" and after["state"] == "sent"
    listed = json.loads(listd_cli.ok("post", "ls", NEWS, "--json").output)
    assert [(p["post"], p["figures"]["delivered"]) for p in listed] == [(post, 7)]
    assert "Issue 1" in listd_cli.ok("post", "ls", NEWS).output
    assert "bounced_policy" in listd_cli.ok("post", "report", post).output

    # The API shows the same report under the same id.
    headers = bearer(make_key(db, "reports"))
    async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{relayed_daemon.http_port}/api/v1") as http:
        assert (await http.get(f"/lists/{NEWS}/reports/{post}", headers=headers)).json() == after
        listed_api = (await http.get(f"/lists/{NEWS}/reports", headers=headers)).json()
        assert [p["post"] for p in listed_api] == [post]
        missing = await http.get(f"/lists/{NEWS}/reports/9999", headers=headers)
        assert missing.status_code == 404 and "no post 9999" in missing.json()["detail"]
