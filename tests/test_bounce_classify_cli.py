"""`listd bounce classify` prints the JSON contract that the corpus benchmark reads."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from listd.cli.main import cli

DSN = b"""\
From: MAILER-DAEMON@mx.example.net
To: news-bounces+1a-abcdefgh@lists.example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.net. I'm sorry to have to inform you
that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; gone@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown

Final-Recipient: rfc822; full@example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 <full@example.net>: Mailbox full

--B--
"""


def test_classify_reads_stdin_and_prints_one_json_object() -> None:
    result = CliRunner().invoke(cli, ["bounce", "classify"], input=DSN)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["is_bounce"] is True
    by_address = {r["address"]: r for r in found["recipients"]}
    assert by_address["gone@example.net"]["kind"] == "hard"
    assert by_address["gone@example.net"]["status"] == "5.1.1"
    assert by_address["full@example.net"]["kind"] == "soft"
    assert by_address["full@example.net"]["status"] == "5.2.2"


def test_classify_a_file_and_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(DSN)
    (tmp_path / "b.eml").write_bytes(b"From: friend@example.org\nSubject: hi\n\nJust a note.\n")
    one = CliRunner().invoke(cli, ["bounce", "classify", str(tmp_path / "b.eml")])
    assert json.loads(one.stdout) == {**json.loads(one.stdout), "is_bounce": False,
                                      "recipients": []}
    many = CliRunner().invoke(cli, ["bounce", "classify", "--dir", str(tmp_path)])
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [(x["file"], x["is_bounce"]) for x in lines] == [("a.eml", True), ("b.eml", False)]
