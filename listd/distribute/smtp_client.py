"""A minimal ESMTP client that keeps one relay connection full: RFC 2920 PIPELINING.

aiosmtplib waits for every reply before the next command (its protocol keeps one reply
waiter), which costs four round trips per message. With PIPELINING the end of one message's
data and the next message's MAIL, RCPT and DATA go out in one write, so a connection spends
one round trip per recipient. Relays that do not offer PIPELINING get the same commands in
lock-step. STARTTLS and AUTH (PLAIN, LOGIN) are supported for a smarthost.

What a relay sends is bounded (reply line length, lines per reply), each phase has its own
timeout (RFC 5321 4.5.3.2, `outbound.timeouts`), and nothing the relay sent before the TLS
handshake is ever read as if it came through TLS.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from listd.config import OutboundConfig
from listd.distribute.outcome import SendResult, SendStatus, classify_reply, deferred

# RFC 5321 4.5.3.1.5 allows 512 octets a reply line; some relays send longer texts.
MAX_REPLY_LINE = 2048
MAX_REPLY_LINES = 100
READ_SIZE = 65536
# A name lookup for EHLO that takes longer is given up (the host name is used instead).
HELO_LOOKUP_SECONDS = 5.0


class SmtpFailure(Exception):
    """The session cannot continue: the relay closed, timed out, or answered nonsense."""


class ConnectionLost(SmtpFailure):
    """The relay closed or reset the connection, or said it would (421)."""

    def __init__(self, message: str, reply: Reply | None = None) -> None:
        super().__init__(message)
        self.reply = reply


# Tuples, not frozen dataclasses: several are made per message on the event loop, and a
# frozen dataclass's __init__ costs a setattr call per field.
class Reply(NamedTuple):
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


class Step(NamedTuple):
    """One command (or a message's data) and the seconds its reply may take."""

    data: bytes
    phase: str
    timeout: float


def wire_body(raw: bytes) -> bytes:
    """RAW with CRLF line ends, leading dots doubled (RFC 5321 4.5.2), and the final dot."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    if text.startswith(b"."):
        text = b"." + text
    text = text.replace(b"\n.", b"\n..")
    return text.replace(b"\n", b"\r\n") + b".\r\n"


class HeloName:
    """The name for EHLO: configured, or this host's FQDN, looked up once off the event loop."""

    def __init__(self, configured: str | None) -> None:
        self.name = configured

    async def get(self) -> str:
        if self.name is None:
            try:
                async with asyncio.timeout(HELO_LOOKUP_SECONDS):
                    self.name = await asyncio.to_thread(socket.getfqdn)
            except TimeoutError:
                self.name = socket.gethostname()
        return self.name


def tls_context(config: OutboundConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=config.tls_ca_file)


class SmtpSession:
    """One connection to the relay, opened on first use and reused for many messages."""

    def __init__(self, config: OutboundConfig, helo: HeloName | None = None) -> None:
        self.config = config
        self.timeouts = config.timeouts
        self.helo = helo or HeloName(config.helo_name)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        # The plaintext writer under TLS, kept: dropping it would close the socket under us.
        self.plain_writer: asyncio.StreamWriter | None = None
        self.extensions: dict[str, str] = {}
        self.buffer = bytearray()
        self.last_used = 0.0
        # Replies (other than 421) read during the current send_many: none means a failure
        # came before the relay took any command of it.
        self.answered = 0
        # The deadline of the read in progress, watched by one timer that is moved only when
        # it fires too early (see _watch_read).
        self.read_deadline = 0.0
        self.reading: asyncio.Task[object] | None = None
        self.read_timer: asyncio.TimerHandle | None = None
        self.read_expired = False

    @property
    def pipelining(self) -> bool:
        return "pipelining" in self.extensions

    # -- replies ----------------------------------------------------------------------------

    async def _replies(self, steps: Sequence[Step]) -> list[Reply]:
        """One reply per step, parsed from whatever the relay sent (often all in one read)."""
        loop = asyncio.get_running_loop()
        replies: list[Reply] = []
        lines: list[str] = []
        deadline = loop.time() + steps[0].timeout
        while len(replies) < len(steps):
            line = self._line()
            if line is None:
                await self._fill(deadline, steps[len(replies)])
                continue
            if len(line) < 4 or not line[:3].isdigit() or len(lines) >= MAX_REPLY_LINES:
                raise SmtpFailure(f"the relay answered nonsense: {line[:100]!r}")
            lines.append(line[4:].strip().decode("utf-8", "replace"))
            if line[3:4] != b"-":
                replies.append(self._counted(Reply(int(line[:3]), "\n".join(lines))))
                lines = []
                if len(replies) < len(steps):
                    deadline = loop.time() + steps[len(replies)].timeout
        return replies

    def _line(self) -> bytes | None:
        end = self.buffer.find(b"\n")
        if end < 0:
            if len(self.buffer) > MAX_REPLY_LINE:
                raise SmtpFailure(f"the relay sent a reply line over {MAX_REPLY_LINE} bytes")
            return None
        line = bytes(self.buffer[:end + 1])
        del self.buffer[:end + 1]
        if len(line) > MAX_REPLY_LINE:
            raise SmtpFailure(f"the relay sent a reply line over {MAX_REPLY_LINE} bytes")
        return line

    async def _fill(self, deadline: float, step: Step) -> None:
        assert self.reader is not None
        self._watch_read(deadline)
        try:
            data = await self.reader.read(READ_SIZE)
        except asyncio.CancelledError:
            if self._read_timed_out():
                raise SmtpFailure(
                    f"no reply to {step.phase} within {step.timeout:g} s") from None
            raise
        except OSError as exc:
            raise ConnectionLost(f"the relay connection failed: {exc}") from exc
        finally:
            self.reading = None
        if not data:
            raise ConnectionLost("the relay closed the connection")
        self.buffer += data

    def _watch_read(self, deadline: float) -> None:
        """Have the current task cancelled if its read is still waiting at DEADLINE.

        An asyncio.timeout per read would cost a timer of its own for every message, on the
        event loop that every connection shares. Deadlines mostly move later, so one timer
        per connection serves: when it fires before the current deadline, it moves there.
        """
        self.read_deadline = deadline
        self.reading = asyncio.current_task()
        self.read_expired = False
        timer = self.read_timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self.read_timer = asyncio.get_running_loop().call_at(deadline, self._read_overdue)

    def _read_overdue(self) -> None:
        self.read_timer = None
        task = self.reading
        if task is None:
            return  # no read waits; the next one sets the timer again
        loop = asyncio.get_running_loop()
        if loop.time() >= self.read_deadline:
            self.read_expired = True
            task.cancel()
        else:
            self.read_timer = loop.call_at(self.read_deadline, self._read_overdue)

    def _read_timed_out(self) -> bool:
        """Whether the cancellation being handled is the read's deadline alone (as
        asyncio.timeout decides: a cancellation from outside as well goes on up)."""
        if not self.read_expired:
            return False
        self.read_expired = False
        task = asyncio.current_task()
        return task is not None and task.uncancel() == 0

    def _counted(self, reply: Reply) -> Reply:
        if reply.code == 421:
            raise ConnectionLost(f"the relay is closing the connection: {reply.text}", reply)
        self.answered += 1
        return reply

    # -- commands ---------------------------------------------------------------------------

    async def _exchange(self, steps: Sequence[Step]) -> list[Reply]:
        """Send STEPS (each one line, or message data) and read one reply for each."""
        if self.pipelining:
            self._write(b"".join(step.data for step in steps))
            await self._drain(steps)
            return await self._replies(steps)
        replies = []
        for step in steps:
            self._write(step.data)
            await self._drain([step], always=True)
            replies += await self._replies([step])
        return replies

    def _write(self, data: bytes) -> None:
        assert self.writer is not None
        if self.writer.is_closing():
            raise ConnectionLost("the relay closed the connection")
        self.writer.write(data)

    async def _drain(self, steps: Sequence[Step], always: bool = False) -> None:
        assert self.writer is not None
        if not always and self.writer.transport.get_write_buffer_size() <= READ_SIZE:
            return
        try:
            async with asyncio.timeout(self.timeouts.data_block):
                await self.writer.drain()
        except TimeoutError:
            raise SmtpFailure(f"the relay took no data for {self.timeouts.data_block:g} s "
                              f"({steps[0].phase})") from None
        except OSError as exc:
            raise ConnectionLost(f"the relay connection failed: {exc}") from exc

    async def _command(self, line: str, phase: str | None = None) -> Reply:
        step = Step(line.encode() + b"\r\n", phase or line.split()[0],
                    self.timeouts.command)
        return (await self._exchange([step]))[0]

    # -- opening ----------------------------------------------------------------------------

    async def open(self) -> None:
        config = self.config
        greeting = Step(b"", "the greeting", self.timeouts.greeting)
        try:
            async with asyncio.timeout(self.timeouts.greeting):
                self.reader, self.writer = await asyncio.open_connection(
                    config.host, config.port, limit=READ_SIZE)
        except TimeoutError:
            raise SmtpFailure(f"no connection to the relay within "
                              f"{self.timeouts.greeting:g} s") from None
        self.buffer = bytearray()
        self.extensions = {}
        reply = (await self._replies([greeting]))[0]
        if reply.code != 220:
            raise SmtpFailure(f"the relay greeted with {reply.code} {reply.text}")
        await self._ehlo()
        if config.starttls:
            await self._starttls()
        if config.username:
            await self._login(config.username, config.password or "")

    async def _ehlo(self) -> None:
        reply = await self._command(f"EHLO {await self.helo.get()}")
        if reply.code != 250:
            raise SmtpFailure(f"EHLO refused: {reply.code} {reply.text}")
        self.extensions = {}
        for line in reply.text.splitlines()[1:]:
            name, _, value = line.partition(" ")
            self.extensions[name.lower()] = value

    async def _starttls(self) -> None:
        if "starttls" not in self.extensions:
            raise SmtpFailure("the relay does not offer STARTTLS")
        reply = await self._command("STARTTLS")
        if reply.code != 220:
            raise SmtpFailure(f"STARTTLS refused: {reply.code} {reply.text}")
        await self._upgrade()
        await self._ehlo()

    async def _upgrade(self) -> None:
        """Switch to TLS with a new reader, so that no plaintext byte is read after it.

        Anything the relay sent after its 220 came before the handshake, unprotected: a
        man in the middle's injected replies (RFC 3207 section 4, CVE-2011-0411's class).
        It is refused, not read as if it were the encrypted session's.
        """
        assert self.reader is not None and self.writer is not None
        old_reader, old_writer = self.reader, self.writer
        if self.buffer:
            raise SmtpFailure("the relay sent data after STARTTLS's 220 before the TLS "
                              f"handshake: {bytes(self.buffer[:100])!r}")
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_SIZE, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            async with asyncio.timeout(self.timeouts.command):
                transport = await loop.start_tls(
                    old_writer.transport, protocol, tls_context(self.config),
                    server_hostname=self.config.host)
        except TimeoutError:
            raise SmtpFailure("the TLS handshake with the relay timed out") from None
        except ssl.SSLError as exc:
            raise SmtpFailure(f"TLS with the relay failed: {exc}") from exc
        assert transport is not None
        protocol.connection_made(transport)
        self.reader, self.plain_writer = reader, old_writer
        self.writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        old_reader.feed_eof()
        leftover = await old_reader.read()
        if leftover:
            raise SmtpFailure("the relay sent data after STARTTLS's 220 before the TLS "
                              f"handshake: {leftover[:100]!r}")

    async def _login(self, username: str, password: str) -> None:
        mechanisms = self.extensions.get("auth", "").upper().split()
        if "PLAIN" in mechanisms:
            secret = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
            reply = await self._command(f"AUTH PLAIN {secret}", "AUTH")
        elif "LOGIN" in mechanisms:
            reply = await self._command("AUTH LOGIN", "AUTH")
            for value in (username, password):
                if reply.code != 334:
                    break
                reply = await self._command(base64.b64encode(value.encode()).decode(),
                                            "AUTH")
        else:
            raise SmtpFailure("the relay offers neither AUTH PLAIN nor AUTH LOGIN")
        if reply.code != 235:
            raise SmtpFailure(f"login refused: {reply.code} {reply.text}")

    # -- sending ----------------------------------------------------------------------------

    def _envelope(self, job: Job) -> list[Step]:
        params = ""
        if job.eight_bit and "8bitmime" in self.extensions:
            params += " BODY=8BITMIME"
        if not (job.sender.isascii() and job.recipient.isascii()):
            params += " SMTPUTF8"
        timeouts = self.timeouts
        return [Step(f"MAIL FROM:<{job.sender}>{params}\r\n".encode(), "MAIL", timeouts.mail),
                Step(f"RCPT TO:<{job.recipient}>\r\n".encode(), "RCPT", timeouts.rcpt),
                Step(b"DATA\r\n", "DATA", timeouts.data)]

    def _data(self, job: Job) -> Step:
        return Step(job.body, "the end of data", self.timeouts.data_end)

    async def send_many(self, jobs: Sequence[Job]) -> list[SendResult]:
        """Deliver JOBS one transaction each; a result for every job, in order.

        A reused connection that turns out dead before the relay answered anything of this
        call (closed while idle, reset, 421) is reopened at once and the jobs sent on the
        new one: the relay took none of them, so nothing is deferred or sent twice.
        """
        results: list[SendResult | None] = [None] * len(jobs)
        reused = await self._ready_for_use()
        failure = await self._attempt(jobs, results)
        if isinstance(failure, ConnectionLost) and reused and self.answered == 0:
            failure = await self._attempt(jobs, results)
        if failure is not None:
            reply = failure.reply if isinstance(failure, ConnectionLost) else None
            reason = classify_reply(reply.code, reply.text) if reply is not None else \
                deferred(f"relay connection failed: {failure or type(failure).__name__}")
            results = [r or reason for r in results]
        return [r or deferred("not attempted") for r in results]

    async def _ready_for_use(self) -> bool:
        """Whether the connection is reused; one idle past the bound is closed first."""
        if self.writer is None:
            return False
        if time.monotonic() - self.last_used > self.config.idle_timeout or \
                self.writer.is_closing() or (self.reader is not None and self.reader.at_eof()):
            await self.close()
            return False
        return True

    async def _attempt(self, jobs: Sequence[Job],
                       results: list[SendResult | None]) -> Exception | None:
        """Send what has no result yet; the failure that ended the session, if one did."""
        self.answered = 0
        todo = [index for index, result in enumerate(results) if result is None]
        done: list[SendResult | None] = [None] * len(todo)
        failure: Exception | None = None
        try:
            if self.writer is None:
                await self.open()
            await self._transactions([jobs[i] for i in todo], done)
        except (OSError, EOFError, SmtpFailure) as exc:
            failure = exc
            await self.close(polite=False)
        finally:
            self.last_used = time.monotonic()
            for index, result in zip(todo, done, strict=True):
                results[index] = result
        return failure

    async def _transactions(self, jobs: Sequence[Job], results: list[SendResult | None]) -> None:
        carried: int | None = None  # its DATA was answered 354; its body goes with the next write
        reset = False               # the last transaction was left open: RSET first
        for index, job in enumerate(jobs):
            if not self._can_carry(job):
                results[index] = SendResult(
                    SendStatus.FAILED, "the relay does not offer SMTPUTF8 for this address")
                continue
            steps = [] if carried is None else [self._data(jobs[carried])]
            if reset:
                steps.append(Step(b"RSET\r\n", "RSET", self.timeouts.command))
            steps += self._envelope(job)
            replies = await self._exchange(steps)
            if carried is not None:
                results[carried] = classify_reply(replies[0].code, replies[0].text)
                replies.pop(0)
                carried = None
            if reset:
                replies.pop(0)
            mail, rcpt, data = replies
            failure = next((r for r in (mail, rcpt) if not r.ok), None)
            if data.code == 354 and failure is not None:
                # A relay that opened DATA without a valid recipient: end it empty.
                await self._exchange([Step(b".\r\n", "the end of data",
                                           self.timeouts.data_end)])
            elif data.code != 354:
                failure = failure or data
            reset = failure is not None
            if failure is None:
                carried = index
            else:
                results[index] = classify_reply(failure.code, failure.text)
        if carried is not None:
            reply = (await self._exchange([self._data(jobs[carried])]))[0]
            results[carried] = classify_reply(reply.code, reply.text)

    def _can_carry(self, job: Job) -> bool:
        return (job.sender.isascii() and job.recipient.isascii()) or \
            "smtputf8" in self.extensions

    async def close(self, polite: bool = True) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None
        writer, self.writer, self.reader = self.writer, None, None
        plain, self.plain_writer, self.buffer = self.plain_writer, None, bytearray()
        if writer is None:
            return
        if not polite:
            # A broken session (or a failed TLS handshake): nothing to wait for.
            writer.transport.abort()
            if plain is not None:
                plain.transport.abort()
            return
        try:
            if not writer.is_closing():
                writer.write(b"QUIT\r\n")
                async with asyncio.timeout(5):
                    await writer.drain()
            writer.close()
            async with asyncio.timeout(5):
                await writer.wait_closed()
        except (OSError, TimeoutError, ssl.SSLError):
            pass
        finally:
            if plain is not None:
                plain.close()
