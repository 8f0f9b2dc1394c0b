"""SMTP smuggling (CVE-2023-51764 and kin): only CRLF.CRLF ends DATA, so a bare LF or a bare
CR around the dot cannot end one message early and start a hidden second one in the same
transaction. aiosmtpd before 1.4.5 had this flaw; pyproject.toml requires >= 1.4.6."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.models import StoredMessage
from listd.serve import Daemon
from tests.support.client import in_thread
from tests.support.lists import make_list

NEWS = "news@lists.example.org"
HIDDEN = (b"MAIL FROM:<forger@example.net>\r\nRCPT TO:<" + NEWS.encode() + b">\r\nDATA\r\n"
          b"From: owner@lists.example.org\r\nSubject: smuggled\r\n\r\nhidden\r\n")


def smuggle(port: int, end_of_data: bytes) -> list[bytes]:
    """One transaction whose body carries END_OF_DATA then a second transaction; return the
    server's replies after DATA's 354, up to and including QUIT's 221."""
    message = (b"From: poster@example.org\r\nSubject: visible\r\n"
               b"Message-ID: <visible@example.org>\r\n\r\nfirst" + end_of_data + HIDDEN)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        for line in (b"HELO client.example.org\r\n", b"MAIL FROM:<poster@example.org>\r\n",
                     f"RCPT TO:<{NEWS}>\r\n".encode(), b"DATA\r\n"):
            sock.sendall(line)
            reader.readline()
        sock.sendall(message + b"\r\n.\r\nQUIT\r\n")
        replies = []
        while not replies or not replies[-1].startswith(b"221"):
            line = reader.readline()
            if not line:
                break
            replies.append(line.rstrip(b"\r\n"))
        return replies


@pytest.mark.parametrize("end_of_data", [
    pytest.param(b"\n.\n", id="LF.LF"),
    pytest.param(b"\r.\r", id="CR.CR"),
    pytest.param(b"\n.\r\n", id="LF.CRLF"),
    pytest.param(b"\r\n.\n", id="CRLF.LF"),
    pytest.param(b"\r.\r\n", id="CR.CRLF"),
    pytest.param(b"\r\n.\r", id="CRLF.CR"),
    pytest.param(b"\n.\r", id="LF.CR"),
    pytest.param(b"\r.\n", id="CR.LF"),
])
async def test_a_bare_lf_or_cr_around_the_dot_does_not_end_the_message(
        daemon: Daemon, db: Database, config: Config, end_of_data: bytes) -> None:
    make_list(db, config, NEWS)
    replies = await in_thread(smuggle, daemon.port, end_of_data)
    # One answer for the one message, then QUIT's: no reply to a hidden MAIL, RCPT or DATA.
    assert [reply[:3] for reply in replies] == [b"250", b"221"], replies
    with db.reading() as session:
        stored = list(session.scalars(select(StoredMessage.raw)))
    assert len(stored) == 1
    assert stored[0].startswith(b"From: poster@example.org\r\n")
    # The would-be second message stayed inside the first one's body.
    assert b"Subject: smuggled" in stored[0].partition(b"\r\n\r\n")[2]
