"""Messages that are not failures: auto-replies, complaints, ordinary mail,
and input that is not mail at all."""

from __future__ import annotations

import json
import random

import pytest
from bounce_helpers import eml

from listd.bounce import Category, classify_message, report_json
from listd.bounce.__main__ import main

VACATION = eml("""
    From: kim@example.com
    To: list@lists.example.org
    Subject: Out of Office: hello
    Auto-Submitted: auto-replied
    Precedence: bulk

    I am away until Monday and will read your message when I am back.
    """)

ARF = eml("""
    From: feedback@fbl.example.net
    To: abuse@lists.example.org
    Subject: Abuse report
    MIME-Version: 1.0
    Content-Type: multipart/report; report-type=feedback-report; boundary="F"

    --F
    Content-Type: text/plain

    This is an email abuse report for an email message received from IP 192.0.2.1.

    --F
    Content-Type: message/feedback-report

    Feedback-Type: abuse
    User-Agent: SomeGenerator/1.0
    Version: 1
    Original-Mail-From: <list-bounces@lists.example.org>
    Original-Rcpt-To: <leo@example.com>

    --F
    Content-Type: message/rfc822

    From: list@lists.example.org
    To: leo@example.com
    Subject: newsletter

    hello
    --F--
    """)

PLAIN = eml("""
    From: mallory@example.com
    To: list@lists.example.org
    Subject: Re: my message could not be delivered?

    Hi all, I tried to mail bob@example.com yesterday; is anyone else seeing problems?
    """)


def test_vacation_auto_reply() -> None:
    report = classify_message(VACATION)
    assert report.category is Category.AUTO_REPLY
    assert not report.is_bounce
    assert report_json(report)["recipients"] == []


def test_arf_complaint() -> None:
    report = classify_message(ARF)
    assert report.category is Category.COMPLAINT
    assert not report.is_bounce
    assert report.complainants == ("leo@example.com",)
    assert report.feedback_type == "abuse"
    assert report.recipients == ()


def test_ordinary_mail_is_other() -> None:
    report = classify_message(PLAIN)
    assert report.category is Category.OTHER
    assert report_json(report) == {**report_json(report), "is_bounce": False, "recipients": []}


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage \x80\x81",
    b"Content-Type: multipart/report; boundary=\n\n--\n--\n",
    (b"From: MAILER-DAEMON\nSubject: =?bogus?Q?x?=\nContent-Type: message/delivery-status\n"
    b"Content-Transfer-Encoding: base64\n\n!!!not base64!!!\n"),
    (b"Subject: \xe9\xe8 8-bit header\nContent-Type: text/plain; charset=no-such-charset\n\n"
    b"\xc3\x28 failed permanently <a@b.c>:\n"),
    b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n"
    b"--x\n" * 50,
])
def test_broken_input_never_raises(raw: bytes) -> None:
    report = classify_message(raw)
    assert isinstance(report_json(report)["is_bounce"], bool)


def test_random_bytes_never_raise() -> None:
    rng = random.Random(1234)
    for _ in range(200):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        assert classify_message(raw).category in set(Category)


def test_cli_single_file_and_dir(tmp_path, capsys) -> None:
    (tmp_path / "a.eml").write_bytes(ARF)
    (tmp_path / "b.eml").write_bytes(b"")
    assert main([str(tmp_path / "a.eml")]) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["is_bounce"] is False and single["recipients"] == []
    assert main(["--dir", str(tmp_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == ["a.eml", "b.eml"]
