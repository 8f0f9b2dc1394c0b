"""A minimal ESMTP client that keeps one relay connection full: RFC 2920 PIPELINING.

aiosmtplib waits for every reply before the next command (its protocol keeps one reply
waiter), which costs four round trips per message. With PIPELINING the end of one message's
data and the next message's MAIL, RCPT and DATA go out in one write, so a connection spends
one round trip per recipient. Relays that do not offer PIPELINING get the same commands in
lock-step. STARTTLS and AUTH (PLAIN, LOGIN) are supported for a smarthost.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from listd.config import OutboundConfig
from listd.distribute.outcome import SendResult, SendStatus, classify_reply, deferred

REPLY_TIMEOUT = 120.0
MAX_REPLY_LINES = 100


class SmtpFailure(Exception):
    """The session cannot continue: the relay closed, timed out, or answered nonsense."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


@dataclass(slots=True)
class Job:
    """One message to one recipient; BODY is wire-ready (CRLF, dot-stuffed, ends CRLF.CRLF)."""

    sender: str
    recipient: str
    body: bytes
    eight_bit: bool = False


def wire_body(raw: bytes) -> bytes:
    """RAW with CRLF line ends, leading dots doubled (RFC 5321 4.5.2), and the final dot."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    if text.startswith(b"."):
        text = b"." + text
    text = text.replace(b"\n.", b"\n..")
    return text.replace(b"\n", b"\r\n") + b".\r\n"


class SmtpSession:
    """One connection to the relay, opened on first use and reused for many messages."""

    def __init__(self, config: OutboundConfig) -> None:
        self.config = config
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.extensions: dict[str, str] = {}
        self.buffer = bytearray()

    @property
    def pipelining(self) -> bool:
        return "pipelining" in self.extensions

    async def _reply(self) -> Reply:
        return (await self._replies(1))[0]

    async def _replies(self, count: int) -> list[Reply]:
        """COUNT replies, parsed from whatever the relay has sent (often all in one read)."""
        assert self.reader is not None
        replies: list[Reply] = []
        buffer = self.buffer
        lines: list[str] = []
        start = 0
        while len(replies) < count:
            end = buffer.find(b"\n", start)
            if end < 0:
                del buffer[:start]
                start = 0
                data = await self.reader.read(65536)
                if not data:
                    raise SmtpFailure("the relay closed the connection")
                buffer += data
                continue
            line = bytes(buffer[start:end + 1])
            start = end + 1
            if len(line) < 4 or not line[:3].isdigit() or len(lines) > MAX_REPLY_LINES:
                raise SmtpFailure(f"the relay answered nonsense: {line[:100]!r}")
            lines.append(line[4:].strip().decode("utf-8", "replace"))
            if line[3:4] != b"-":
                replies.append(Reply(int(line[:3]), "\n".join(lines)))
                lines = []
        del buffer[:start]
        return replies

    async def _exchange(self, commands: Sequence[bytes]) -> list[Reply]:
        """Send COMMANDS (each one line, or message data) and read one reply for each."""
        assert self.writer is not None
        async with asyncio.timeout(REPLY_TIMEOUT):
            if self.pipelining:
                self.writer.write(b"".join(commands))
                if self.writer.transport.get_write_buffer_size() > 65536:
                    await self.writer.drain()
                return await self._replies(len(commands))
            replies = []
            for command in commands:
                self.writer.write(command)
                await self.writer.drain()
                replies += await self._replies(1)
            return replies

    async def _command(self, line: str) -> Reply:
        return (await self._exchange([line.encode() + b"\r\n"]))[0]

    async def open(self) -> None:
        config = self.config
        async with asyncio.timeout(REPLY_TIMEOUT):
            self.reader, self.writer = await asyncio.open_connection(config.host, config.port)
            self.buffer = bytearray()
            greeting = await self._reply()
        if greeting.code != 220:
            raise SmtpFailure(f"the relay greeted with {greeting.code} {greeting.text}")
        await self._ehlo()
        if config.starttls:
            if "starttls" not in self.extensions:
                raise SmtpFailure("the relay does not offer STARTTLS")
            reply = await self._command("STARTTLS")
            if reply.code != 220:
                raise SmtpFailure(f"STARTTLS refused: {reply.code} {reply.text}")
            await self.writer.start_tls(ssl.create_default_context(),
                                        server_hostname=config.host)
            await self._ehlo()
        if config.username:
            await self._login(config.username, config.password or "")

    async def _ehlo(self) -> None:
        reply = await self._command(f"EHLO {socket.getfqdn()}")
        if reply.code != 250:
            raise SmtpFailure(f"EHLO refused: {reply.code} {reply.text}")
        self.extensions = {}
        for line in reply.text.splitlines()[1:]:
            name, _, value = line.partition(" ")
            self.extensions[name.lower()] = value

    async def _login(self, username: str, password: str) -> None:
        mechanisms = self.extensions.get("auth", "").upper().split()
        if "PLAIN" in mechanisms:
            secret = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
            reply = await self._command(f"AUTH PLAIN {secret}")
        elif "LOGIN" in mechanisms:
            reply = await self._command("AUTH LOGIN")
            for value in (username, password):
                if reply.code != 334:
                    break
                reply = await self._command(base64.b64encode(value.encode()).decode())
        else:
            raise SmtpFailure("the relay offers neither AUTH PLAIN nor AUTH LOGIN")
        if reply.code != 235:
            raise SmtpFailure(f"login refused: {reply.code} {reply.text}")

    def _envelope(self, job: Job) -> list[bytes]:
        params = ""
        if job.eight_bit and "8bitmime" in self.extensions:
            params += " BODY=8BITMIME"
        if not (job.sender.isascii() and job.recipient.isascii()):
            params += " SMTPUTF8"
        return [f"MAIL FROM:<{job.sender}>{params}\r\n".encode(),
                f"RCPT TO:<{job.recipient}>\r\n".encode(), b"DATA\r\n"]

    async def send_many(self, jobs: Sequence[Job]) -> list[SendResult]:
        """Deliver JOBS one transaction each; a result for every job, in order."""
        results: list[SendResult | None] = [None] * len(jobs)
        try:
            if self.writer is None:
                await self.open()
            await self._transactions(jobs, results)
        except (OSError, EOFError, TimeoutError, SmtpFailure) as exc:
            reason = deferred(f"relay connection failed: {exc or type(exc).__name__}")
            results = [r or reason for r in results]
            await self.close(polite=False)
        return [r or deferred("not attempted") for r in results]

    async def _transactions(self, jobs: Sequence[Job], results: list[SendResult | None]) -> None:
        carried: int | None = None  # its DATA was answered 354; its body goes with the next write
        reset = False               # the last transaction was left open: RSET first
        for index, job in enumerate(jobs):
            if not self._can_carry(job):
                results[index] = SendResult(
                    SendStatus.FAILED, "the relay does not offer SMTPUTF8 for this address")
                continue
            commands = [] if carried is None else [jobs[carried].body]
            if reset:
                commands.append(b"RSET\r\n")
            commands += self._envelope(job)
            replies = await self._exchange(commands)
            if carried is not None:
                results[carried] = self._end_of_data(replies.pop(0))
                carried = None
            if reset:
                replies.pop(0)
            mail, rcpt, data = replies
            failure = next((r for r in (mail, rcpt) if not r.ok), None)
            if data.code == 354 and failure is not None:
                # A relay that opened DATA without a valid recipient: end it empty.
                await self._exchange([b".\r\n"])
            elif data.code != 354:
                failure = failure or data
            reset = failure is not None
            if failure is None:
                carried = index
            else:
                results[index] = classify_reply(failure.code, failure.text)
                if failure.code == 421:
                    raise SmtpFailure("the relay is closing the connection (421)")
        if carried is not None:
            results[carried] = self._end_of_data(
                (await self._exchange([jobs[carried].body]))[0])

    def _end_of_data(self, reply: Reply) -> SendResult:
        if reply.code == 421:
            raise SmtpFailure(f"the relay is closing the connection: {reply.text}")
        return classify_reply(reply.code, reply.text)

    def _can_carry(self, job: Job) -> bool:
        return (job.sender.isascii() and job.recipient.isascii()) or \
            "smtputf8" in self.extensions

    async def close(self, polite: bool = True) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is None:
            return
        try:
            if polite and not writer.is_closing():
                writer.write(b"QUIT\r\n")
                async with asyncio.timeout(5):
                    await writer.drain()
            writer.close()
            async with asyncio.timeout(5):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            pass
