"""How a message leaves listd: through an SMTP relay, or into a local Maildir."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from listd.config import OutboundConfig
from listd.distribute.outcome import SendResult, SendStatus, deferred
from listd.distribute.smtp_client import HeloName, Job, SmtpSession


class Connection(Protocol):
    async def send_many(self, jobs: Sequence[Job]) -> list[SendResult]:
        """One result per job, in order; a connection failure defers what it did not send."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    def connect(self) -> Connection:
        """A connection that one delivery task reuses for many messages."""
        ...


class SmtpTransport:
    def __init__(self, config: OutboundConfig) -> None:
        self.config = config
        # Shared by the connections: the host's name is looked up once.
        self.helo = HeloName(config.helo_name)

    def connect(self) -> SmtpSession:
        return SmtpSession(self.config, self.helo)


def unstuffed(body: bytes) -> bytes:
    """A wire body (dot-stuffed, ending CRLF.CRLF) back to the message, with LF line ends."""
    text = body[:-3].replace(b"\r\n", b"\n")
    if text.startswith(b".."):
        text = text[1:]
    return text.replace(b"\n..", b"\n.")


class MaildirConnection:
    """Writes each mail as one file in a Maildir's new/, with the headers an LDA would add."""

    _counter = itertools.count()

    def __init__(self, root: Path) -> None:
        self.root = root

    async def send_many(self, jobs: Sequence[Job]) -> list[SendResult]:
        return [self._write(job) for job in jobs]

    def _write(self, job: Job) -> SendResult:
        name = (f"{time.time_ns()}.P{os.getpid()}Q{next(self._counter)}."
                f"{socket.gethostname().replace('/', '_')}")
        envelope = f"Return-Path: <{job.sender}>\nDelivered-To: {job.recipient}\n".encode()
        try:
            for sub in ("tmp", "new", "cur"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            tmp = self.root / "tmp" / name
            with open(tmp, "wb") as handle:
                handle.write(envelope + unstuffed(job.body))
            os.rename(tmp, self.root / "new" / name)
        except OSError as exc:
            return deferred(f"cannot write to {self.root}: {exc}")
        return SendResult(SendStatus.SENT, f"written to {self.root / 'new' / name}")

    async def close(self) -> None:
        return None


class MaildirTransport:
    def __init__(self, config: OutboundConfig) -> None:
        self.root = Path(config.path)

    def connect(self) -> MaildirConnection:
        return MaildirConnection(self.root)


def make_transport(config: OutboundConfig) -> Transport:
    return SmtpTransport(config) if config.mode == "smtp" else MaildirTransport(config)
