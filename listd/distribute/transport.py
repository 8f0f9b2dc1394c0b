"""How a message leaves listd: through an SMTP relay, or into a local Maildir."""

from __future__ import annotations

import enum
import itertools
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from listd.config import OutboundConfig


class SendStatus(enum.StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    response: str
    # The relay's reply code, when it gave one; a 5xx is a bounce of the recipient.
    code: int | None = None


class Connection(Protocol):
    async def send(self, sender: str, recipient: str, message: bytes) -> SendResult: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    def connect(self) -> Connection:
        """A connection that one delivery task reuses for many messages."""
        ...


def classify_reply(code: int, text: str) -> SendResult:
    status = SendStatus.SENT if code < 400 else (
        SendStatus.DEFERRED if code < 500 else SendStatus.FAILED)
    return SendResult(status, f"{code} {text}".strip(), code)


class SmtpConnection:
    def __init__(self, config: OutboundConfig) -> None:
        self.config = config
        self.client: aiosmtplib.SMTP | None = None

    async def _client(self) -> aiosmtplib.SMTP:
        if self.client is None or not self.client.is_connected:
            client = aiosmtplib.SMTP(hostname=self.config.host, port=self.config.port,
                                     start_tls=self.config.starttls, timeout=60,
                                     local_hostname=socket.getfqdn())
            await client.connect()
            if self.config.username:
                await client.login(self.config.username, self.config.password or "")
            self.client = client
        return self.client

    async def send(self, sender: str, recipient: str, message: bytes) -> SendResult:
        try:
            client = await self._client()
            errors, response = await client.sendmail(sender, [recipient], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            return classify_reply(refusal.code, refusal.message)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return classify_reply(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            return SendResult(SendStatus.DEFERRED, f"connection to relay failed: {exc}")
        if recipient in errors:
            code, text = errors[recipient]
            return classify_reply(code, text)
        return SendResult(SendStatus.SENT, response, 250)

    async def _reset(self) -> None:
        # After a refused MAIL or DATA the transaction must be reset before the next message.
        if self.client is not None and self.client.is_connected:
            try:
                await self.client.rset()
            except (aiosmtplib.SMTPException, OSError):
                await self.close()

    async def close(self) -> None:
        if self.client is not None:
            try:
                if self.client.is_connected:
                    await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


class SmtpTransport:
    def __init__(self, config: OutboundConfig) -> None:
        self.config = config

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self.config)


class MaildirConnection:
    """Writes each mail as one file in a Maildir's new/, with the headers an LDA would add."""

    _counter = itertools.count()

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    async def send(self, sender: str, recipient: str, message: bytes) -> SendResult:
        name = (f"{time.time_ns()}.P{os.getpid()}Q{next(self._counter)}."
                f"{socket.gethostname().replace('/', '_')}")
        envelope = f"Return-Path: <{sender}>\nDelivered-To: {recipient}\n".encode()
        body = message.replace(b"\r\n", b"\n")
        try:
            tmp = self.root / "tmp" / name
            with open(tmp, "wb") as handle:
                handle.write(envelope + body)
            os.rename(tmp, self.root / "new" / name)
        except OSError as exc:
            return SendResult(SendStatus.DEFERRED, f"cannot write to {self.root}: {exc}")
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
