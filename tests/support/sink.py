"""A real SMTP server that catches what listd relays, and can be told to refuse recipients."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # recipient → replies to give at RCPT, in order; once used up, the recipient is accepted.
    scripted: dict[str, deque[str]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        replies = self.scripted.get(address.lower())
        if replies:
            return replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos),
                                      envelope.original_content or b""))
        self.arrived.set()
        return "250 2.0.0 OK"


class Sink:
    def __init__(self) -> None:
        self.handler = SinkHandler()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.handler, decode_data=False, enable_SMTPUTF8=True,
                         hostname="sink.test"), host="127.0.0.1", port=0)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def refuse(self, recipient: str, *replies: str) -> None:
        """Answer RCPT TO:<recipient> with REPLIES, one per attempt, then accept it."""
        self.handler.scripted[recipient.lower()] = deque(replies)

    def to(self, recipient: str) -> list[Received]:
        return [r for r in self.received if recipient.lower() in (x.lower() for x in r.recipients)]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
