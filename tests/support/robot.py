"""Talking to the command robot through the real listener, and reading what it answers."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from listd.clock import OffsetClock
from listd.config import Config
from listd.serve import Daemon
from tests.support.client import in_thread, send
from tests.support.maildir import Written, read_outbox
from tests.support.waiting import wait_until


async def mail(daemon: Daemon, sender: str, to: str, body: str = "", subject: str = "",
               headers: str = "", envelope_sender: str | None = None,
               content_type: str = "text/plain; charset=utf-8") -> None:
    message = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{uuid.uuid4().hex}@example.org>\r\nMIME-Version: 1.0\r\n"
               f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n"
               f"{headers}\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n"))
    envelope = sender if envelope_sender is None else envelope_sender
    await in_thread(send, daemon.port, envelope, [to], message.encode())


def written_to(config: Config, recipient: str) -> list[Written]:
    return [w for w in read_outbox(Path(config.outbound.path)) if w.recipient == recipient]


async def wait_for_mail(config: Config, recipient: str, count: int,
                        what: str = "") -> list[Written]:
    """The first COUNT mails written to RECIPIENT, once there are that many."""
    found = await wait_until(lambda: len(written_to(config, recipient)) >= count or None,
                             what=what or f"{count} mails to {recipient}")
    assert found
    return written_to(config, recipient)


def confirm_address(written: Written) -> str:
    """The -confirm+TOKEN address a confirmation request asks to be answered at."""
    reply_to = str(written.message["Reply-To"])
    assert "-confirm+" in reply_to, reply_to
    return reply_to


def token_of(written: Written) -> str:
    return confirm_address(written).split("+", 1)[1].split("@", 1)[0]


def body(written: Written) -> str:
    part = written.message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


# How long a person takes to read a confirmation request before answering it; an answer that
# comes sooner is taken for an auto-responder's (automatic_mail.QUICKEST_PERSON).
READING = dt.timedelta(minutes=1)


def reads_it(daemon: Daemon) -> None:
    """A person reads the mail before answering: listd's clock moves on by READING."""
    clock = daemon.runtime.clock
    assert isinstance(clock, OffsetClock)
    clock.advance(READING)


def is_confirmation(written: Written) -> bool:
    return "-confirm+" in str(written.message["From"])
