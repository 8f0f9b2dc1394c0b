"""listd's own SMTP client against the real test sink: PIPELINING, STARTTLS, AUTH, every
phase's failure, bounded replies, per-phase timeouts and connections the relay closed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from listd.config import OutboundConfig, SmtpTimeouts
from listd.distribute.outcome import SendResult, SendStatus
from listd.distribute.smtp_client import HeloName, Job, SmtpSession, wire_body
from tests.support.sink import DISCONNECT, STALL, Phase, Sink
from tests.support.waiting import wait_until

SENT, DEFERRED, FAILED = SendStatus.SENT, SendStatus.DEFERRED, SendStatus.FAILED


def jobs(*recipients: str) -> list[Job]:
    return [Job("list-bounces@lists.example.org", r,
                wire_body(f"Subject: hello {r}\r\n\r\nHello.\r\n".encode()))
            for r in recipients]


def statuses(results: list[SendResult]) -> list[SendStatus]:
    return [r.status for r in results]


@pytest.fixture
async def sinks() -> AsyncIterator[Callable[..., Any]]:
    started: list[Sink] = []

    async def start(**options: Any) -> Sink:
        sink = Sink(**options)
        await sink.start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        await sink.stop()


@pytest.fixture
async def sessions() -> AsyncIterator[Callable[..., SmtpSession]]:
    opened: list[SmtpSession] = []

    def session(sink: Sink, **options: Any) -> SmtpSession:
        config = OutboundConfig(mode="smtp", host="127.0.0.1", port=sink.port,
                                helo_name="client.test", **options)
        opened.append(SmtpSession(config))
        return opened[-1]

    yield session
    for each in opened:
        await each.close()


async def test_pipelining_sends_a_whole_envelope_in_one_write(sinks: Any,
                                                              sessions: Any) -> None:
    sink = await sinks()
    sink.refuse("gone@example.com", "550 5.1.1 no such user")
    sink.refuse("busy@example.com", "451 4.3.0 try later")
    results = await sessions(sink).send_many(
        jobs("a@example.com", "gone@example.com", "b@example.com", "busy@example.com",
             "c@example.com"))
    assert statuses(results) == [SENT, FAILED, SENT, DEFERRED, SENT]
    assert results[1].response == "550 5.1.1 no such user"
    assert sorted(r.recipients[0] for r in sink.received) == \
        ["a@example.com", "b@example.com", "c@example.com"]
    assert len(sink.sessions) == 1 and sink.sessions[0].pipelined
    assert sink.sessions[0].helo == "client.test"


async def test_without_pipelining_the_commands_go_in_lock_step(sinks: Any,
                                                               sessions: Any) -> None:
    sink = await sinks(pipelining=False)
    sink.refuse("gone@example.com", "550 5.1.1 no such user")
    results = await sessions(sink).send_many(
        jobs("a@example.com", "gone@example.com", "b@example.com"))
    assert statuses(results) == [SENT, FAILED, SENT]
    assert not sink.sessions[0].pipelined


async def test_starttls_verifies_the_relay_and_delivers_encrypted(
        sinks: Any, sessions: Any, tmp_path: Path) -> None:
    sink = await sinks(tls=True)
    ca = sink.write_ca(tmp_path / "ca.pem")
    results = await sessions(sink, starttls=True, tls_ca_file=str(ca)).send_many(
        jobs("a@example.com", "b@example.com"))
    assert statuses(results) == [SENT, SENT]
    assert sink.sessions[0].tls and sink.sessions[0].pipelined
    assert sink.sessions[0].commands[:3] == ["EHLO", "STARTTLS", "EHLO"]


async def test_starttls_with_an_unknown_certificate_defers(sinks: Any,
                                                           sessions: Any) -> None:
    sink = await sinks(tls=True)
    results = await sessions(sink, starttls=True).send_many(jobs("a@example.com"))
    assert statuses(results) == [DEFERRED]
    assert "TLS with the relay failed" in results[0].response
    assert sink.received == []


async def test_bytes_injected_after_starttls_220_are_refused(
        sinks: Any, sessions: Any, tmp_path: Path) -> None:
    # A man in the middle answers the EHLO that will follow TLS, in plaintext.
    injected = b"250-sink.test\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"
    sink = await sinks(tls=True, starttls_injection=injected)
    ca = sink.write_ca(tmp_path / "ca.pem")
    results = await sessions(sink, starttls=True, tls_ca_file=str(ca)).send_many(
        jobs("a@example.com"))
    assert statuses(results) == [DEFERRED]
    assert "data after STARTTLS's 220" in results[0].response
    assert sink.received == []


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_auth_logs_in_as_the_configured_user(
        sinks: Any, sessions: Any, tmp_path: Path, mechanism: str) -> None:
    sink = await sinks(tls=True, user=("listd", "s3cret"), auth_mechanisms=(mechanism,))
    ca = sink.write_ca(tmp_path / "ca.pem")
    session = sessions(sink, starttls=True, tls_ca_file=str(ca), username="listd",
                       password="s3cret")
    assert statuses(await session.send_many(jobs("a@example.com"))) == [SENT]
    assert sink.sessions[0].login == "listd"


async def test_a_wrong_password_defers_and_sends_nothing(sinks: Any, sessions: Any) -> None:
    sink = await sinks(user=("listd", "s3cret"))
    results = await sessions(sink, username="listd", password="wrong").send_many(
        jobs("a@example.com"))
    assert statuses(results) == [DEFERRED]
    assert "login refused: 535" in results[0].response
    assert sink.received == []


async def test_a_421_greeting_defers_with_the_relays_answer(sinks: Any,
                                                            sessions: Any) -> None:
    sink = await sinks()
    sink.fail(Phase.CONNECT, "421 4.3.2 sink.test busy, try later")
    results = await sessions(sink).send_many(jobs("a@example.com", "b@example.com"))
    assert statuses(results) == [DEFERRED, DEFERRED]
    assert results[0].response == "421 4.3.2 sink.test busy, try later"
    assert results[0].code == 421


# (phase, scripted answer) → the two jobs' outcomes, on a fresh connection.
PHASES = [
    (Phase.CONNECT, DISCONNECT, [DEFERRED, DEFERRED]),
    (Phase.EHLO, "421 4.3.2 shutting down", [DEFERRED, DEFERRED]),
    (Phase.EHLO, "554 5.7.1 go away", [DEFERRED, DEFERRED]),
    (Phase.EHLO, DISCONNECT, [DEFERRED, DEFERRED]),
    (Phase.MAIL, "451 4.3.0 try later", [DEFERRED, SENT]),
    (Phase.MAIL, "553 5.1.8 bad sender", [FAILED, SENT]),
    (Phase.MAIL, "421 4.3.2 closing", [DEFERRED, DEFERRED]),
    (Phase.MAIL, DISCONNECT, [DEFERRED, DEFERRED]),
    (Phase.RCPT, "452 4.5.3 too many recipients", [DEFERRED, SENT]),
    (Phase.RCPT, "550 5.1.1 no such user", [FAILED, SENT]),
    (Phase.RCPT, DISCONNECT, [DEFERRED, DEFERRED]),
    (Phase.DATA, "451 4.3.0 not now", [DEFERRED, SENT]),
    (Phase.DATA, "554 5.5.1 no valid recipients", [FAILED, SENT]),
    (Phase.DATA, DISCONNECT, [DEFERRED, DEFERRED]),
    (Phase.END_OF_DATA, "452 4.3.1 queue full", [DEFERRED, SENT]),
    (Phase.END_OF_DATA, "554 5.7.1 spam", [FAILED, SENT]),
    (Phase.END_OF_DATA, "421 4.3.2 closing", [DEFERRED, DEFERRED]),
    (Phase.END_OF_DATA, DISCONNECT, [DEFERRED, DEFERRED]),
]


@pytest.mark.parametrize(("phase", "answer", "expected"), PHASES,
                         ids=[f"{p.value}-{a.split()[0]}" for p, a, _ in PHASES])
async def test_every_phases_failure_has_its_outcome(
        sinks: Any, sessions: Any, phase: Phase, answer: str,
        expected: list[SendStatus]) -> None:
    sink = await sinks()
    sink.fail(phase, answer)
    results = await sessions(sink).send_many(jobs("a@example.com", "b@example.com"))
    assert statuses(results) == expected
    if answer[0].isdigit() and phase is not Phase.CONNECT:
        assert answer in results[0].response
    assert [r.recipients[0] for r in sink.received] == \
        [j.recipient for j, s in zip(jobs("a@example.com", "b@example.com"), expected,
                                     strict=True) if s is SENT]


@pytest.mark.parametrize("reply", [
    "250 " + "x" * 5000,
    "\r\n".join(["250-line"] * 500 + ["250 end"]),
], ids=["overlong line", "endless reply"])
async def test_an_unbounded_reply_ends_the_session(sinks: Any, sessions: Any,
                                                   reply: str) -> None:
    sink = await sinks()
    sink.fail(Phase.MAIL, reply)
    results = await sessions(sink).send_many(jobs("a@example.com"))
    assert statuses(results) == [DEFERRED]
    assert "over 2048 bytes" in results[0].response or "nonsense" in results[0].response


@pytest.mark.parametrize("phase", [Phase.CONNECT, Phase.MAIL, Phase.RCPT, Phase.DATA,
                                   Phase.END_OF_DATA])
async def test_each_phase_has_its_own_timeout(sinks: Any, sessions: Any,
                                              phase: Phase) -> None:
    sink = await sinks()
    sink.fail(phase, STALL)
    # Only the stalled phase is short: the client must be waiting with that phase's timeout.
    names = {Phase.CONNECT: "greeting", Phase.MAIL: "mail", Phase.RCPT: "rcpt",
             Phase.DATA: "data", Phase.END_OF_DATA: "data_end"}
    long = {name: 60.0 for name in names.values()}
    timeouts = SmtpTimeouts(**{**long, names[phase]: 0.3})
    started = time.monotonic()
    results = await sessions(sink, timeouts=timeouts).send_many(jobs("a@example.com"))
    assert time.monotonic() - started < 5
    assert statuses(results) == [DEFERRED]
    assert "within 0.3 s" in results[0].response


async def test_a_session_busy_for_longer_than_its_timeouts_is_never_cut_short(
        sinks: Any, sessions: Any) -> None:
    """Every reply comes at once, but the session runs for several times each phase's
    timeout: a deadline watched since an earlier read must move on, not fire."""
    sink = await sinks()
    timeouts = SmtpTimeouts(**{name: 1.5 for name in (
        "greeting", "command", "mail", "rcpt", "data", "data_block", "data_end")})
    session = sessions(sink, timeouts=timeouts)
    started, results = time.monotonic(), []
    while time.monotonic() - started < 4.0:
        results += await session.send_many(jobs(*(f"m{n}@example.com" for n in range(20))))
    assert set(statuses(results)) == {SENT}, [r.response for r in results if r.status != SENT]
    assert len(sink.received) == len(results)


async def test_the_host_name_is_looked_up_off_the_event_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_getfqdn(name: str = "") -> str:
        time.sleep(0.5)  # a resolver that takes its time
        return "slow.example.org"

    monkeypatch.setattr(socket, "getfqdn", slow_getfqdn)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    helo = HeloName(None)
    assert await helo.get() == "slow.example.org"
    task.cancel()
    assert ticks > 10
    assert await helo.get() == "slow.example.org"  # once, then kept


@pytest.mark.parametrize("idle_reply", ["421 4.4.2 sink.test Error: timeout exceeded", None],
                         ids=["421 then close", "silent close"])
async def test_a_connection_the_relay_closed_while_idle_is_reopened_at_once(
        sinks: Any, sessions: Any, idle_reply: str | None) -> None:
    sink = await sinks(idle_timeout=0.3, idle_reply=idle_reply)
    session = sessions(sink)
    assert statuses(await session.send_many(jobs("first@example.com"))) == [SENT]
    await wait_until(lambda: sink.open_sessions == 0, timeout=10,
                     what="the sink to drop the idle connection")
    started = time.monotonic()
    results = await session.send_many(jobs("a@example.com", "b@example.com", "c@example.com"))
    assert statuses(results) == [SENT, SENT, SENT]
    assert time.monotonic() - started < 2
    assert len(sink.sessions) == 2
    assert len(sink.received) == 4


async def test_a_connection_idle_past_the_bound_is_closed_before_use(
        sinks: Any, sessions: Any) -> None:
    sink = await sinks()
    session = sessions(sink, idle_timeout=0.2)
    assert statuses(await session.send_many(jobs("first@example.com"))) == [SENT]
    await wait_until(lambda: time.monotonic() - session.last_used > 0.3, timeout=5,
                     what="the idle bound to pass")
    assert statuses(await session.send_many(jobs("a@example.com"))) == [SENT]
    assert sink.sessions[0].commands[-1] == "QUIT"
    assert len(sink.sessions) == 2


async def test_a_fresh_connection_that_fails_is_not_retried_in_a_loop(
        sinks: Any, sessions: Any) -> None:
    sink = await sinks()
    sink.fail(Phase.MAIL, "421 4.3.2 closing", "421 4.3.2 closing")
    results = await sessions(sink).send_many(jobs("a@example.com"))
    assert statuses(results) == [DEFERRED]
    assert len(sink.sessions) == 1
