"""A real SMTP server that catches what listd relays, and can be told to misbehave.

It is aiosmtpd on a loopback port, like a relay listd would talk to: it offers PIPELINING
(RFC 2920), optionally STARTTLS with a certificate from a throw-away CA (`trustme`) and AUTH
PLAIN/LOGIN against one configured user, and closes connections that stay idle (Postfix's
`smtpd_timeout`, with Postfix's 421 first).

Every phase can be scripted to answer otherwise, once per attempt, in order: the greeting
(`Phase.CONNECT`, e.g. 421), EHLO, MAIL, RCPT (for every recipient, or for one with
`refuse`), DATA (before the 354) and the reply after the final dot. A scripted answer is an
SMTP reply line, `DISCONNECT` (close the socket without answering) or `STALL` (never answer,
for timeouts). Only messages answered 250 after the dot are in `received`.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOSTNAME = "sink.test"
# What Postfix says when it drops an idle client.
IDLE_REPLY = f"421 4.4.2 {HOSTNAME} Error: timeout exceeded"
DISCONNECT = "<disconnect>"
STALL = "<stall>"


class Phase(enum.StrEnum):
    CONNECT = "connect"
    EHLO = "ehlo"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    END_OF_DATA = "end of data"


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
class SessionLog:
    """What one client connection did, for tests to check the client's behaviour."""

    commands: list[str] = field(default_factory=list)
    # Each read from the socket, as received: several commands in one read is pipelining.
    reads: list[bytes] = field(default_factory=list)
    helo: str | None = None
    tls: bool = False
    login: str | None = None
    closed: bool = False

    @property
    def pipelined(self) -> bool:
        return any(b"MAIL FROM" in read and b"RCPT TO" in read for read in self.reads)


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # recipient → replies to give at RCPT, in order; once used up, the recipient is accepted.
    scripted: dict[str, deque[str]] = field(default_factory=dict)
    phases: dict[Phase, deque[str]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    user: tuple[str, str] | None = None
    pipelining: bool = True

    def next_reply(self, phase: Phase, recipient: str | None = None) -> str | None:
        """The scripted answer for this attempt at PHASE, or None to behave normally."""
        for replies in (self.scripted.get((recipient or "").lower()), self.phases.get(phase)):
            if replies:
                return replies.popleft()
        return None

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [responses[0], "250-PIPELINING", *responses[1:]]

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        if self.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        reply = self.next_reply(Phase.RCPT, address)
        if reply is not None:
            return await misbehave(server, reply)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.next_reply(Phase.END_OF_DATA)
        if reply is not None:
            return await misbehave(server, reply)
        self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos),
                                      envelope.original_content or b""))
        self.arrived.set()
        return "250 2.0.0 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        if self.user is None or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (auth_data.login.decode(), auth_data.password.decode())
        if given != self.user:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=given[0])


async def misbehave(server: SMTP, reply: str) -> str:
    """REPLY as the hook's answer; a disconnect closes the socket (the answer is then lost)."""
    if reply == STALL:
        await asyncio.get_running_loop().create_future()
    if reply == DISCONNECT and server.transport is not None:
        server.transport.close()
    return reply


class SinkSMTP(SMTP):
    """aiosmtpd's server with the phases it has no hook for made scriptable."""

    def __init__(self, handler: SinkHandler, log: SessionLog, starttls_injection: bytes,
                 idle_reply: str | None, **options: Any) -> None:
        super().__init__(handler, **options)
        self.sink = handler
        self.log = log
        self.starttls_injection = starttls_injection
        self.idle_reply = idle_reply

    def data_received(self, data: bytes) -> None:
        self.log.reads.append(data)
        super().data_received(data)

    def connection_lost(self, error: Exception | None) -> None:
        self.log.closed = True
        super().connection_lost(error)

    async def _scripted(self, phase: Phase, command: str) -> bool:
        self.log.commands.append(command)
        reply = self.sink.next_reply(phase)
        if reply is None:
            return False
        reply = await misbehave(self, reply)
        if reply != DISCONNECT:
            await self.push(reply)
        return True

    async def smtp_EHLO(self, hostname: str) -> None:
        self.log.helo = hostname
        if not await self._scripted(Phase.EHLO, "EHLO"):
            await super().smtp_EHLO(hostname)

    async def smtp_MAIL(self, arg: str) -> None:
        if not await self._scripted(Phase.MAIL, "MAIL"):
            await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str) -> None:
        self.log.commands.append("RCPT")
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        if not await self._scripted(Phase.DATA, "DATA"):
            await super().smtp_DATA(arg)

    async def smtp_STARTTLS(self, arg: str) -> None:
        self.log.commands.append("STARTTLS")
        await super().smtp_STARTTLS(arg)
        self.log.tls = self._tls_protocol is not None

    async def smtp_AUTH(self, arg: str) -> None:
        self.log.commands.append("AUTH")
        await super().smtp_AUTH(arg)
        if self.session is not None and self.session.authenticated:
            self.log.login = str(self.session.auth_data)

    async def smtp_RSET(self, arg: str) -> None:
        self.log.commands.append("RSET")
        await super().smtp_RSET(arg)

    async def smtp_QUIT(self, arg: str) -> None:
        self.log.commands.append("QUIT")
        await super().smtp_QUIT(arg)

    async def push(self, status: str | bytes) -> None:
        if status == "220 Ready to start TLS" and self.starttls_injection:
            # A man in the middle adds plaintext after the 220 (CVE-2011-0411's class).
            self._writer.write(b"220 Ready to start TLS\r\n" + self.starttls_injection)
            await self._writer.drain()
            return
        await super().push(status)

    def _timeout_cb(self) -> None:
        # Postfix answers 421 before it drops an idle client; aiosmtpd would just close.
        if self.idle_reply and self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.idle_reply.encode() + b"\r\n")
        super()._timeout_cb()  # type: ignore[no-untyped-call]


class Refusal(asyncio.Protocol):
    """A connection answered by a scripted greeting (e.g. 421), then closed."""

    def __init__(self, reply: str, log: SessionLog) -> None:
        self.reply = reply
        self.log = log

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        if self.reply == STALL:
            return
        if self.reply != DISCONNECT:
            transport.write(self.reply.encode() + b"\r\n")
        transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        self.log.closed = True


class Sink:
    def __init__(self, *, tls: bool = False, user: tuple[str, str] | None = None,
                 auth_mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
                 pipelining: bool = True, idle_timeout: float = 300,
                 idle_reply: str | None = IDLE_REPLY, starttls_injection: bytes = b"") -> None:
        self.handler = SinkHandler(user=user, pipelining=pipelining)
        self.idle_reply = idle_reply
        self.server: asyncio.Server | None = None
        self.sessions: list[SessionLog] = []
        self.ca = trustme.CA() if tls else None
        self.idle_timeout = idle_timeout
        self.starttls_injection = starttls_injection
        self.excluded = [m for m in ("LOGIN", "PLAIN") if m not in auth_mechanisms]
        self.tls_context = self._tls_context()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._session, host="127.0.0.1", port=0)

    def _session(self) -> asyncio.Protocol:
        log = SessionLog()
        self.sessions.append(log)
        greeting = self.handler.next_reply(Phase.CONNECT)
        if greeting is not None:
            return Refusal(greeting, log)
        return SinkSMTP(self.handler, log, self.starttls_injection, self.idle_reply,
                        decode_data=False,
                        enable_SMTPUTF8=True, hostname=HOSTNAME, timeout=self.idle_timeout,
                        tls_context=self.tls_context, require_starttls=self.ca is not None,
                        authenticator=self.handler.authenticate,
                        auth_require_tls=self.ca is not None,
                        auth_exclude_mechanism=self.excluded)

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.ca is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def write_ca(self, path: Path) -> Path:
        """The sink's CA certificate as a PEM file, for a client to verify the sink with."""
        assert self.ca is not None
        self.ca.cert_pem.write_to_path(str(path))
        return path

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def open_sessions(self) -> int:
        return sum(1 for s in self.sessions if not s.closed)

    def refuse(self, recipient: str, *replies: str) -> None:
        """Answer RCPT TO:<recipient> with REPLIES, one per attempt, then accept it."""
        self.handler.scripted[recipient.lower()] = deque(replies)

    def fail(self, phase: Phase, *replies: str) -> None:
        """Answer the next attempts at PHASE (on any connection) with REPLIES, in order."""
        self.handler.phases.setdefault(phase, deque()).extend(replies)

    def to(self, recipient: str) -> list[Received]:
        return [r for r in self.received if recipient.lower() in (x.lower() for x in r.recipients)]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
