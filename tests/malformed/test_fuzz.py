"""Mutated real-looking mail through the real port: each message is refused at DATA or
accepted, and every accepted one reaches an outcome (issue 19, 7): distributed, held, replied
to, forwarded, or shunted with a notice. None is left waiting for a retry."""

from __future__ import annotations

import random
import smtplib
from collections import Counter

from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.models import InboundMessage, InboundState
from listd.serve import Daemon
from tests.malformed.samples import nested
from tests.support.client import in_thread
from tests.support.lists import make_list
from tests.support.outbox import sent_to, settle

LIST = "club@lists.example.org"
REQUEST = "club-request@lists.example.org"
BOUNCES = "club-bounces@lists.example.org"
ALICE = "alice@example.org"
OWNER = "owner@example.org"
MUTATIONS = 300
SEED = 19

PLAIN = (b"From: Alice <alice@example.org>\r\nTo: club@lists.example.org\r\n"
         b"Subject: =?utf-8?q?R=C3=A9union?= on Monday\r\nMessage-ID: <m1@example.org>\r\n"
         b"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
         + "Rendez-vous à 18 h.\r\n-- \r\nAlice\r\n".encode())
ALTERNATIVE = (b"From: alice@example.org\r\nTo: club@lists.example.org\r\nSubject: Agenda\r\n"
               b"Message-ID: <m2@example.org>\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
               b"--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
               b"Content-Transfer-Encoding: quoted-printable\r\n\r\nOrdre du jour =E9t=E9\r\n"
               b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\nPHA+T3JkcmU8L3A+\r\n--alt--\r\n")
MIXED = (b"From: \"Alice A.\" <alice@example.org>\r\nTo: club@lists.example.org\r\n"
         b"Subject: Minutes\r\nMessage-ID: <m3@example.org>\r\nIn-Reply-To: <m2@example.org>\r\n"
         b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=mix\r\n\r\n"
         b"--mix\r\nContent-Type: text/plain\r\n\r\nAttached.\r\n"
         b"--mix\r\nContent-Type: application/pdf; name=m.pdf\r\n"
         b"Content-Disposition: attachment; filename=m.pdf\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--mix--\r\n")
COMMAND = (b"From: alice@example.org\r\nTo: club-request@lists.example.org\r\n"
           b"Subject: help\r\nMessage-ID: <c1@example.org>\r\n\r\nHELP\r\nWHICH\r\n")
DSN = (b"From: MAILER-DAEMON@mx.example.net\r\nTo: club-bounces@lists.example.org\r\n"
       b"Subject: Undelivered Mail\r\nMessage-ID: <d1@mx.example.net>\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
       b"--r\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
       b"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
       b"Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
       b"--r\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\nSubject: orig\r\n\r\nx\r\n"
       b"--r--\r\n")
# Each base with the envelope it travels in.
BASES = [(PLAIN, ALICE, LIST), (ALTERNATIVE, ALICE, LIST), (MIXED, ALICE, LIST),
         (nested(20), ALICE, LIST), (COMMAND, ALICE, REQUEST), (DSN, "", BOUNCES)]
NASTY = [b"\x00", b"\xff\xfe", b"\r", b"\n", b"<>", b"<;a@b>", b"<@>", b"=?utf-8?q?a=0Ab?=",
         b"=?x-unknown?b?////?=", b"boundary=", b"Content-Type: multipart/mixed\r\n",
         b"\r\n\r\n", b"--", b"\x80\x81", b"\"", b"(((", b"@", b"Message-ID: <>\r\n"]


def mutate(raw: bytes, rng: random.Random) -> bytes:
    lines = raw.split(b"\r\n")
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        choice = rng.randrange(6)
        if choice == 0 and len(lines) > 1:
            del lines[i]
        elif choice == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif choice == 2:
            line = lines[i]
            cut = rng.randint(0, len(line))
            lines[i] = line[:cut] + rng.choice(NASTY) + line[cut:]
        elif choice == 3:
            lines[i] = bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 40)))
        elif choice == 4:
            lines = lines[: rng.randint(1, len(lines))]
        else:
            lines[i] = lines[i].replace(b"boundary", b"bnd").replace(b":", b"", 1)
    return b"\r\n".join(lines) + b"\r\n"


def send_all(port: int, mails: list[tuple[bytes, str, str]]) -> Counter[str]:
    answers: Counter[str] = Counter()
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    for raw, sender, recipient in mails:
        try:
            client.sendmail(sender, [recipient], raw)
            answers["accepted"] += 1
        except smtplib.SMTPDataError as refused:
            assert 500 <= refused.smtp_code < 600, refused
            answers[f"refused {refused.smtp_code}"] += 1
        except smtplib.SMTPServerDisconnected:
            client = smtplib.SMTP("127.0.0.1", port, timeout=30)
            answers["disconnected"] += 1
    client.quit()
    return answers


async def test_every_accepted_mutation_reaches_an_outcome(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, owners=(OWNER,), subscribers=(ALICE, "bob@example.org"),
              moderators=("mod@example.org",))
    rng = random.Random(SEED)
    mails = []
    for n in range(MUTATIONS):
        raw, sender, recipient = rng.choice(BASES)
        # A Message-ID of its own, or most posts would end as duplicates of the first.
        raw = raw.replace(b"Message-ID: <", b"Message-ID: <%d." % n)
        mails.append((mutate(raw, rng), sender, recipient))
    answers = await in_thread(send_all, daemon.port, mails)
    assert answers["accepted"] > MUTATIONS // 2, answers
    await settle(db, answers["accepted"])

    with db.session() as session:
        rows = list(session.scalars(select(InboundMessage)))
    states = Counter(row.state for row in rows)
    assert len(rows) == answers["accepted"]
    assert set(states) <= {InboundState.DONE, InboundState.SHUNTED}, states
    assert all(row.attempts <= 1 for row in rows), [r.outcome for r in rows if r.attempts > 1]
    shunted = [row for row in rows if row.state is InboundState.SHUNTED]
    assert len(sent_to(config, OWNER)) >= len(shunted) if shunted else True
    assert not any((row.outcome or "").startswith("error") for row in rows)
