"""`listd serve` delivering from several processes (`outbound.delivery_processes`): exactly
once between them, a killed child restarted and its claims given back, children that die
with the daemon, a clean stop."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from listd.config import Config, OutboundConfig, QuotaConfig
from listd.database import Database
from listd.distribute.delivery import UNRECORDED_AT_MOST
from listd.distribute.shares import process_count, share
from listd.models import OutboundState, ProcessHeartbeat
from tests.support.client import in_thread, post
from tests.support.process import ServeProcess
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution_processes import (
    NEWS,
    all_sent,
    claims_held_by,
    extras,
    newsletter,
    relay_config,
    states,
)

CHILD = re.compile(r"delivery process 2 of 2 started \([^:]+:(\d+):")


def child_pids(serve: ServeProcess) -> list[int]:
    return [int(pid) for pid in CHILD.findall(serve.log())]


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose: it holds nothing and runs nothing.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def heartbeats(db: Database) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(ProcessHeartbeat)).scalar_one()


def test_the_shares_add_up_to_the_configured_limits() -> None:
    config = OutboundConfig(connections=11, per_domain_connections=5, delivery_processes=3,
                            quota=QuotaConfig(rate=100))
    assert process_count(config) == 3
    shares = [share(config, 3, index) for index in range(3)]
    assert [s.connections for s in shares] == [4, 4, 3]
    assert sum(s.per_domain_connections for s in shares) == 5
    assert sum(s.quota.rate for s in shares) == 100
    # Never a process without a connection, or with a share of 0 (no limit) of a limit.
    assert process_count(OutboundConfig(connections=10, per_domain_connections=1,
                                        delivery_processes=4)) == 1
    assert process_count(OutboundConfig(connections=2, delivery_processes=4)) == 2
    assert process_count(OutboundConfig(connections=10, delivery_processes=4,
                                        quota=QuotaConfig(rate=3))) == 3
    unlimited = share(OutboundConfig(per_domain_connections=0, delivery_processes=2), 2, 1)
    assert unlimited.per_domain_connections == 0 and unlimited.quota.rate == 0


async def test_two_delivery_processes_send_each_recipient_once_and_stop_cleanly(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count = 3000
    newsletter(db, config, count)
    config_file = relay_config(config, sink, tmp_path / "relay.yaml",
                               outbound=", delivery_processes: 2")
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        await wait_until(lambda: child_pids(serve), timeout=30, what="the child to start")
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Shared news")
        await wait_until(lambda: all_sent(db, count), timeout=120,
                         what="the two processes to finish the fan-out")
    finally:
        assert serve.terminate() == 0
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count
    assert max(per_recipient.values()) == 1, "no recipient got the post twice"
    log = serve.log()
    child_recorded = [int(n) for n in re.findall(r"\[delivery 2\]: delivery: (\d+) recorded",
                                                 log)]
    assert sum(child_recorded) > 0, "the child process took part"
    assert sum(child_recorded) < count, "so did the daemon's own worker"
    # Stopped cleanly: nothing left claimed, no heartbeat row, no child left running.
    assert OutboundState.SENDING not in states(db)
    assert heartbeats(db) == 0
    assert not any(running(pid) for pid in child_pids(serve))


async def test_a_killed_delivery_process_is_restarted_and_its_claims_given_back_at_once(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count, connections = 3000, 4
    newsletter(db, config, count)
    # Paced, so the kill finds the child holding claims; takeover by heartbeat would take
    # a minute: the daemon must give the claims back itself, at once.
    config_file = relay_config(config, sink, tmp_path / "relay.yaml", connections=connections,
                               outbound=", delivery_processes: 2, takeover_after: 60, "
                                        "quota: {rate: 400}")
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Paced news")
        await wait_until(lambda: len(child_pids(serve)) == 1, timeout=30,
                         what="the child to start")
        victim = child_pids(serve)[0]
        await wait_until(lambda: len(sink.received) >= 300 and claims_held_by(db, victim),
                         timeout=60, what="the child to hold claims mid fan-out")
        os.kill(victim, 9)
        at_kill = len(sink.received)
        assert at_kill < count
        await wait_until(lambda: claims_held_by(db, victim) == 0, timeout=10,
                         what="the daemon to give back the dead child's claims")
        await wait_until(lambda: len(child_pids(serve)) == 2, timeout=30,
                         what="the daemon to start a new child")
        await wait_until(lambda: all_sent(db, count), timeout=60,
                         what="the processes to finish the fan-out")
    finally:
        assert serve.terminate() == 0
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count
    # Only what the child had on the wire can have gone twice.
    assert extras(sink) <= connections * UNRECORDED_AT_MOST, extras(sink)
    assert re.search(r"delivery process 2 \(\S+\) ended with exit code -9", serve.log())


async def test_the_delivery_processes_die_with_a_killed_daemon_and_the_next_start_finishes(
        db: Database, config: Config, sink: Sink, tmp_path: Path) -> None:
    count = 2000
    newsletter(db, config, count)
    config_file = relay_config(config, sink, tmp_path / "relay.yaml",
                               outbound=", delivery_processes: 2, quota: {rate: 500}")
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        await wait_until(lambda: child_pids(serve), timeout=30, what="the child to start")
        child = child_pids(serve)[0]
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Big news")
        await wait_until(lambda: len(sink.received) >= 300, timeout=30,
                         what="the fan-out to be under way")
    finally:
        serve.kill()
    await wait_until(lambda: not running(child), timeout=30,
                     what="the child to stop with its daemon")
    assert len(sink.received) < count, "the kill came in the middle of the fan-out"
    serve.start()
    try:
        await wait_until(lambda: all_sent(db, count), timeout=60,
                         what="the restarted daemon to finish the fan-out")
    finally:
        assert serve.terminate() == 0
    assert len({r.recipients[0] for r in sink.received}) == count


# A process that never stops of its own accord: SIGTERM ignored, the main thread asleep, as
# a child whose event loop is stuck. It writes its pid, then what the watch told it.
STUCK = """
import signal, sys, time
from pathlib import Path
from listd.delivery_processes import watch_parent
out = Path(sys.argv[1])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
watch_parent(int(sys.argv[2]), lambda how: out.with_suffix(".gone").write_text(how), grace=0.5)
out.write_text(str(__import__("os").getpid()))
while True:
    time.sleep(60)
"""

# Its parent: starts it, then waits to be killed.
PARENT = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], str(os.getpid())])
while True:
    time.sleep(60)
"""


async def test_a_stuck_process_whose_daemon_was_sigkilled_exits_within_its_grace(
        tmp_path: Path) -> None:
    pid_file = tmp_path / "stuck.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, STUCK, str(pid_file)])
    try:
        await wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout=30,
                         what="the stuck process to start")
        stuck = int(pid_file.read_text())
        assert running(stuck)
    finally:
        parent.kill()
        parent.wait()
    await wait_until(lambda: not running(stuck), timeout=15,
                     what="the stuck process to exit once its parent is gone")
    assert f"not {parent.pid}" in pid_file.with_suffix(".gone").read_text()
