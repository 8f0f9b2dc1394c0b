"""Reading what listd wrote to its outbound Maildir."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path


@dataclass(frozen=True)
class Written:
    sender: str
    recipient: str
    message: EmailMessage
    raw: bytes


def read_outbox(root: Path) -> list[Written]:
    found = []
    new = root / "new"
    if not new.is_dir():
        return []
    for path in sorted(new.iterdir(), key=lambda p: p.name):
        raw = path.read_bytes()
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        sender = str(message["Return-Path"]).strip("<>")
        found.append(Written(sender, str(message["Delivered-To"]), message, raw))
    return found
