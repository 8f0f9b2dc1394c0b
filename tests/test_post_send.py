"""`listd post send` through the real daemon and the SMTP sink: samples and exclusions, A/B,
scheduled sends across a restart, cancel, tests to the owners, and bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from listd import members
from listd.clock import OffsetClock, utcnow
from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.models import ArchivedMessage, OutboundEntry, OutboundMessage, PostSelection
from listd.post_send import release_due
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import CLI, with_relay
from tests.support.lists import make_list
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution import NEWS
from tests.test_post_reports import OWNER, post_file
from tests.test_retention import count

OTHER_OWNER = "second-owner@example.org"
# The owners' subscription notices would be in the sink too: off, to count the posts alone.
NEWSLETTER: dict[str, object] = {"template": "newsletter", "subscription_notices": "off"}


def subscribe(db: Database, how_many: int) -> list[str]:
    addresses = [f"reader{i:04d}@example.com" for i in range(how_many)]
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        for address in addresses:
            members.add_member(session, mailing_list, address)
    return addresses


def subjects_by_recipient(sink: Sink) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for received in sink.received:
        for recipient in received.recipients:
            got.setdefault(recipient, []).append(str(received.message["Subject"]))
    return got


def sent_id(output: str) -> str:
    return output.split(":", 1)[0].split()[0]


def outbound_of(listd_cli: CLI, send: str) -> str:
    return json.loads(listd_cli.ok("post", "report", send, "--json").output)["post"]


async def all_sent(db: Database, sink: Sink, total: int) -> None:
    await wait_until(lambda: sum(len(r.recipients) for r in sink.received) >= total,
                     timeout=60, what=f"{total} deliveries")


async def test_a_sample_then_the_rest_reach_every_member_exactly_once(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink, listd_cli: CLI,
        tmp_path: Path) -> None:
    make_list(db, config, NEWS, **NEWSLETTER)
    readers = subscribe(db, 40)
    first = sent_id(listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)),
                                 "--subject", "Half", "--sample", "50%").output)
    await all_sent(db, sink, 20)
    post = outbound_of(listd_cli, first)
    rest = listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)), "--subject", "Rest",
                        "--exclude-recipients-of", post).output
    await all_sent(db, sink, 40)
    got = subjects_by_recipient(sink)
    assert sorted(got) == readers
    assert all(len(s) == 1 for s in got.values())
    assert Counter(s[0] for s in got.values()) == {"[news] Half": 20, "[news] Rest": 20}
    half = json.loads(listd_cli.ok("post", "report", first, "--json").output)
    assert half["sample"] == "50%" and half["figures"]["recipients"] == 20
    other = json.loads(listd_cli.ok("post", "report", sent_id(rest), "--json").output)
    assert other["excluded_recipients_of"] == [post]


async def test_an_ab_pair_splits_its_sample_into_two_disjoint_halves(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink, listd_cli: CLI,
        tmp_path: Path) -> None:
    make_list(db, config, NEWS, **NEWSLETTER)
    subscribe(db, 1000)
    b_file = post_file(tmp_path, "b.md", "Version B.\n")
    output = listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)), "--subject", "Pick",
                          "--variant", str(b_file), "--sample", "20%").output
    assert "(A)" in output and "(B)" in output
    await all_sent(db, sink, 200)
    got = subjects_by_recipient(sink)
    assert len(got) == 200 and all(len(s) == 1 for s in got.values())
    bodies = Counter("Version B." in r.message.get_body(("plain",)).get_content()
                     for r in sink.received for _ in r.recipients)
    assert bodies == {True: 100, False: 100}
    with db.reading() as session:
        assert Counter(session.scalars(select(PostSelection.variant))) == {"A": 100, "B": 100}
    a_send = output.split()[0]
    shown = json.loads(listd_cli.ok("post", "report", a_send, "--json").output)
    assert shown["variant"] == "A" and shown["variants"][0]["variant"] == "B"
    assert shown["figures"]["recipients"] == shown["variants"][0]["figures"]["recipients"] == 100
    text = listd_cli.ok("post", "report", a_send).output
    assert "A (" in text and "B (" in text
    # The winner goes to the rest.
    a_post, b_post = shown["post"], shown["variants"][0]["post"]
    listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)), "--subject", "Pick",
                 "--exclude-recipients-of", f"{a_post},{b_post}")
    await all_sent(db, sink, 1000)
    assert len(subjects_by_recipient(sink)) == 1000


@pytest.fixture
async def restartable(config: Config, db: Database, clock: OffsetClock,
                      sink: Sink) -> AsyncIterator[list[Daemon]]:
    """A daemon the test may stop and start again; the last one is stopped at the end."""
    started = [Daemon(Runtime.create(with_relay(config, sink), db, clock))]
    await started[0].start()
    yield started
    await started[-1].stop()


async def test_a_scheduled_post_survives_a_restart_and_goes_out_at_its_time(
        restartable: list[Daemon], db: Database, config: Config, sink: Sink,
        clock: OffsetClock, listd_cli: CLI, tmp_path: Path) -> None:
    make_list(db, config, NEWS, **NEWSLETTER, subscribers=("a@example.com",))
    at = (utcnow() + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    send = sent_id(listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)),
                                "--subject", "Later", "--at", at).output)
    listed = json.loads(listd_cli.ok("post", "ls", NEWS, "--json").output)
    assert [(p["post"], p["state"], p["send_at"][:16]) for p in listed] == [
        (send, "scheduled", at)]
    assert "scheduled" in listd_cli.ok("post", "ls", NEWS).output
    await restartable[0].stop()
    again = Daemon(Runtime.create(with_relay(config, sink), db, clock))
    restartable.append(again)
    await again.start()
    clock.advance(dt.timedelta(hours=1))
    assert await again.runtime.db.run(release_due, again.runtime) == 0
    assert count(db, OutboundMessage) == 0, "not before its time"
    clock.advance(dt.timedelta(hours=1, minutes=1))
    await wait_until(lambda: sink.to("a@example.com"), timeout=20, what="the scheduled post")
    shown = json.loads(listd_cli.ok("post", "report", send, "--json").output)
    assert shown["state"] in ("sending", "sent") and shown["post"] != send
    # Sent: too late to cancel.
    late = listd_cli("post", "cancel", send)
    assert late.exit_code == 1 and "too late" in late.output


async def test_a_cancelled_post_never_goes_out(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink, clock: OffsetClock,
        listd_cli: CLI, tmp_path: Path) -> None:
    make_list(db, config, NEWS, **NEWSLETTER, subscribers=("a@example.com",))
    at = (utcnow() + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    send = sent_id(listd_cli.ok("post", "send", NEWS, str(post_file(tmp_path)),
                                "--subject", "Never", "--at", at).output)
    assert f"{send} is cancelled" in listd_cli.ok("post", "cancel", send).output
    clock.advance(dt.timedelta(hours=2))
    runtime = relayed_daemon.runtime
    assert await runtime.db.run(release_due, runtime) == 0
    assert count(db, OutboundMessage) == 0 and not sink.received
    listed = json.loads(listd_cli.ok("post", "ls", NEWS, "--json").output)
    assert [(p["post"], p["state"]) for p in listed] == [(send, "cancelled")]


async def test_a_test_send_reaches_the_owners_only_marked_and_not_archived(
        relayed_daemon: Daemon, db: Database, config: Config, sink: Sink, listd_cli: CLI,
        tmp_path: Path) -> None:
    make_list(db, config, NEWS, **NEWSLETTER, owners=(OWNER, OTHER_OWNER),
              subscribers=("a@example.com", "b@example.com"))
    eml = tmp_path / "issue.eml"
    eml.write_bytes(b"From: someone@example.net\r\nSubject: Preview me\r\n"
                    b"Content-Type: text/plain\r\n\r\nHello.\r\n")
    output = listd_cli.ok("post", "send", NEWS, str(eml), "--test", "--from", OTHER_OWNER)
    assert "test to the owners" in output.output
    await wait_until(lambda: len(sink.received) >= 2, timeout=20, what="the test copies")
    await wait_until(lambda: count(db, OutboundEntry) == 2, timeout=5, what="the queue")
    assert sorted(subjects_by_recipient(sink)) == sorted([OWNER, OTHER_OWNER])
    message = sink.received[0].message
    assert "[TEST] Preview me" in str(message["Subject"])
    assert message["X-Listd-Test"] == "yes" and OTHER_OWNER in str(message["From"])
    assert count(db, ArchivedMessage) == 0
    listed = json.loads(listd_cli.ok("post", "ls", NEWS, "--json").output)
    assert [p["state"] for p in listed] == ["test"]


@pytest.mark.parametrize(("options", "error"), [
    (("--at", "next tuesday"), "--at: 'next tuesday' is not a time"),
    (("--at", "2020-01-01 09:00"), "is not in the future"),
    (("--sample", "half"), "--sample: 'half' is neither a count"),
    (("--sample", "150%"), "at most 100%"),
    (("--sample", "0"), "at least 1"),
    (("--exclude-recipients-of", "999"), "post: no post 999"),
    (("--exclude-recipients-of", "s999"), "post: no send s999"),
    (("--from", "stranger@example.net"), "from: stranger@example.net is not an owner"),
    (("--test", "--sample", "10"), "--test: a test goes to the owners only"),
])
def test_bad_input_is_named(listd_cli: CLI, db: Database, config: Config, tmp_path: Path,
                            options: tuple[str, ...], error: str) -> None:
    make_list(db, config, NEWS, **NEWSLETTER)
    result = listd_cli("post", "send", NEWS, str(post_file(tmp_path)), "--subject", "X",
                       *options)
    assert result.exit_code == 1 and error in result.output, result.output
    assert "Traceback" not in result.output


def test_unknown_posts_and_files_are_named(listd_cli: CLI, db: Database, config: Config,
                                           tmp_path: Path) -> None:
    make_list(db, config, NEWS, **NEWSLETTER)
    for args, error in [
            (("post", "report", "42"), "post: no post 42"),
            (("post", "report", "forty"), "post: 'forty' is not a post id"),
            (("post", "cancel", "s7"), "post: no send s7"),
            (("post", "send", NEWS, str(tmp_path / "missing.md"), "--subject", "X"),
             "file: cannot read"),
            (("post", "send", NEWS, str(post_file(tmp_path))), "--subject: issue.md is not"),
            (("post", "ls", "nope@lists.example.org"), "nope@lists.example.org")]:
        result = listd_cli(*args)
        assert result.exit_code == 1 and error in result.output, (args, result.output)
