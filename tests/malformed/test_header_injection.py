"""Values copied from received mail into our headers never break or inject one (issue 19, 8).

Subjects, names and Message-IDs with CR, LF, NUL (raw in a folded header or encoded in an RFC
2047 word) or of any length, in a non-member's post (held notice to the poster, moderation
notice), a subscriber's post (the list copy), and a command mail (the robot's reply)."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest

from listd.config import Config
from listd.database import Database
from listd.header_values import display_name, header_text, message_id, references
from listd.models import InboundState
from listd.serve import Daemon
from tests.malformed.test_malformed_e2e import inbound_rows
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.outbox import outbox, settle

LIST = "club@lists.example.org"
REQUEST = "club-request@lists.example.org"
ALICE = "alice@example.org"
BOB = "bob@example.org"
MOD = "mod@example.org"
STRANGER = "stranger@example.net"
LONG = "x" * 5000
WORDS = "word " * 1000
LONG_ID = "y" * 900
MSG_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")

# (Subject, From display name, Message-ID, In-Reply-To, References) as sent.
HOSTILE = {
    "encoded-lf": ("=?utf-8?q?a=0Ab?=", "=?utf-8?q?Eve=0ABcc:_x@evil.example?=",
                   "<lf@example.org>", "<parent@example.org>", ""),
    "encoded-crlf-injection": ("=?utf-8?q?hi=0D=0AInjected:_yes?=",
                               "=?utf-8?q?Eve=0D=0AInjected:_yes?=", "<crlf@example.org>",
                               "=?utf-8?q?<p@x>=0D=0AInjected:_yes?=", ""),
    "encoded-cr-nul": ("=?utf-8?q?a=0Db=00c=07d?=", "=?utf-8?q?E=00ve?=",
                       "<nul@example.org>", "", ""),
    "folded-continuations": ("hello\r\n\tInjected: yes", "Eve", "<f@example.org>\r\n Injected: yes",
                             "<p@example.org>\r\n\tInjected: yes",
                             "<a@example.org>\r\n Injected: yes <b@example.org>"),
    "very-long": ("=?utf-8?q?" + "y" * 60 + "?= " + WORDS, "N " * 1500,
                  f"<{LONG_ID}@example.org>", f"<{LONG_ID}@example.org>",
                  " ".join(f"<r{i}@example.org>" for i in range(500))),
    "invalid-ids": ("plain", "Eve", "<>", "<;a@b>", "<@> <x>"),
}


def hostile(name: str, sender: str, to: str, body: str = "Hello list.",
            plain_name: bool = False) -> bytes:
    subject, display, mid, in_reply_to, refs = HOSTILE[name]
    display = "Eve" if plain_name else display
    mid = mid.replace("<", f"<{sender.partition('@')[0]}.", 1)
    lines = [f"From: {display} <{sender}>", f"To: {to}", f"Subject: {subject}",
             f"Message-ID: {mid}"]
    lines += [f"In-Reply-To: {in_reply_to}"] * bool(in_reply_to)
    lines += [f"References: {refs}"] * bool(refs)
    return ("\r\n".join(_folded(line) for line in lines) + f"\r\n\r\n{body}\r\n").encode()


def _folded(line: str) -> str:
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + len(word) > 900:
            out.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    return "\r\n ".join([*out, current])


def assert_headers_sound(message: EmailMessage) -> None:
    """No header added, and every header listd wrote is one clean line. A list copy keeps
    the poster's own headers as the poster wrote them (encoded words and all): there only
    the Subject is ours."""
    assert "Injected" not in message and "Bcc" not in message, message.keys()
    ours = [("Subject", message["Subject"])] if "List-Id" in message else message.items()
    for name, value in ours:
        text = str(value)
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", text), (name, text)
        assert name.lower() == "references" or len(text) <= 1000, (name, len(text))
    for name in () if "List-Id" in message else ("In-Reply-To", "References", "Message-ID"):
        for one in (message.get(name) or "").split():
            assert MSG_ID.fullmatch(one), (name, one)


@pytest.fixture
def club(db: Database, config: Config) -> None:
    make_list(db, config, LIST, template="discussion", subscribers=(ALICE, BOB),
              moderators=(MOD,))


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_held_notices_and_list_copies_carry_sound_headers(
        club: None, daemon: Daemon, db: Database, config: Config, name: str) -> None:
    await in_thread(send, daemon.port, STRANGER, [LIST],
                    hostile(name, STRANGER, LIST, plain_name=True))
    await in_thread(send, daemon.port, ALICE, [LIST], hostile(name, ALICE, LIST, plain_name=True))
    await settle(db, 2)

    rows = inbound_rows(db)
    assert [r.state for r in rows] == [InboundState.DONE] * 2, [r.outcome for r in rows]
    assert rows[0].outcome is not None and rows[0].outcome.startswith("held"), rows[0].outcome
    assert sorted({w.recipient for w in outbox(config)}) == [ALICE, BOB, MOD, STRANGER]
    for written in outbox(config):
        assert_headers_sound(written.message)


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_names_end_held_or_distributed_with_sound_headers(
        club: None, daemon: Daemon, db: Database, config: Config, name: str) -> None:
    await in_thread(send, daemon.port, STRANGER, [LIST], hostile(name, STRANGER, LIST))
    await in_thread(send, daemon.port, ALICE, [LIST], hostile(name, ALICE, LIST))
    await settle(db, 2)

    rows = inbound_rows(db)
    assert [r.state for r in rows] == [InboundState.DONE] * 2, [r.outcome for r in rows]
    assert all((r.outcome or "").startswith(("held", "accepted")) for r in rows)
    assert MOD in {w.recipient for w in outbox(config)}
    for written in outbox(config):
        assert_headers_sound(written.message)


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_command_replies_carry_sound_headers(
        club: None, daemon: Daemon, db: Database, config: Config, name: str) -> None:
    await in_thread(send, daemon.port, ALICE, [REQUEST], hostile(name, ALICE, REQUEST, "help"))
    await settle(db)

    reply, = outbox(config)
    assert reply.recipient == ALICE
    assert_headers_sound(reply.message)


def test_sanitising_rules() -> None:
    assert header_text("a\r\nInjected: yes\x00\x1b[31m") == "a Injected: yes [31m"
    assert len(header_text(LONG)) == 200 and len(display_name(LONG)) == 100
    assert message_id("<a@b> junk") == "<a@b>"
    assert [message_id(v) for v in ("<>", "<;a@b>", "<@>", "a@b", None, f"<{LONG}@b>")] == \
        [None] * 6
    assert references(" ".join(f"<r{i}@x>" for i in range(30))) == \
        " ".join(f"<r{i}@x>" for i in range(20, 30))
