"""`listd serve`'s extra delivery processes (`outbound.delivery_processes`), on every core.

One Python process delivers from one core: its event loop, its SMTP parsing, its claims and
records, its signatures. `listd serve` therefore runs the first delivery worker itself and
starts the others as child processes, each with its own database connection, its own share
of the relay connections (listd/distribute/shares.py) and its own heartbeat row. They share
the durable queue exactly as several `listd serve` processes do (listd/distribute/claims.py,
listd/processes.py): claims with leases, heartbeats, takeover. So exactly-once and
crash-resume are those of the queue, whatever number of processes claims from it.

- Children are spawned, not forked (the daemon has threads and database connections).
- The daemon wakes them through a pipe when it queues mail (`WakeSignal`), so a fan-out
  starts on every core at once; otherwise they look every second, as the daemon's worker does.
- They die with the daemon: PR_SET_PDEATHSIG, and the end of the pipe when its last writer
  (the daemon) is gone. Either makes a child finish its chunks and stop. Behind both, a
  thread looks at the child's parent pid twice a second: once the daemon is gone, the child
  has PARENT_GONE_GRACE seconds to record what is on the wire, then it exits however busy or
  stuck its event loop is. A child once outlived a SIGKILLed daemon for minutes, beating its
  heartbeat and holding its claims (neither of the first two stopped it); that cannot last.
- A child that dies is restarted, after 1 s (up to 30 s if it keeps dying at once). The
  daemon gives its claims back at once: it is known dead, no need to wait for takeover.
- On stop, the daemon sends each child SIGTERM, waits for them to record what they hold and
  give back the rest, then gives back whatever a child killed after the grace still held.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from listd.config import Config
from listd.database import Database
from listd.distribute import claims
from listd.distribute.shares import share
from listd.processes import HeartbeatWorker, forget, process_id
from listd.runtime import Runtime

log = logging.getLogger("listd.serve")

_PR_SET_PDEATHSIG = 1
RESTART_AFTER = 1.0
RESTART_AT_MOST = 30.0
# A child that ran this long was not dying at once: restart it after RESTART_AFTER again.
HEALTHY_AFTER = 60.0
# How often a child looks whether the daemon is still its parent, and how long it may take
# to record its answers once the daemon is gone: the rows it still holds go to another
# process by takeover (outbound.takeover_after) only once its heartbeat stops.
PARENT_CHECK = 0.5
PARENT_GONE_GRACE = 5.0


class WakeSignal(asyncio.Event):
    """The daemon's `signals.outbound`: setting it also wakes every child delivery process
    (one byte down its pipe; a full pipe means a wake-up is pending already)."""

    def __init__(self) -> None:
        super().__init__()
        self.pipes: set[int] = set()

    def set(self) -> None:
        super().set()
        for fd in list(self.pipes):
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(fd, b"\0")


@dataclass(frozen=True)
class ChildSpec:
    """What a child delivery process needs: pickled to it by multiprocessing's spawn."""

    config: Config
    index: int
    count: int
    # The random part of its process id (the pid is the child's own): the daemon knows the
    # id without asking, to give back the claims of a child that died.
    suffix: str
    log_level: int
    parent_pid: int


@dataclass
class Child:
    spec: ChildSpec
    process: BaseProcess
    wake: Connection
    started: float

    @property
    def worker_id(self) -> str:
        assert self.process.pid is not None
        return process_id(self.process.pid, self.spec.suffix)


class DeliveryProcesses:
    """Starts and supervises delivery processes 1 … COUNT-1 (the daemon itself is 0)."""

    def __init__(self, runtime: Runtime, count: int, wake: WakeSignal,
                 grace: float = 30.0) -> None:
        self.runtime = runtime
        self.count = count
        self.wake = wake
        self.grace = grace
        self.context = multiprocessing.get_context("spawn")
        self.children: dict[int, Child] = {}
        self.delays: dict[int, float] = {}

    def _start(self, index: int) -> None:
        spec = ChildSpec(self.runtime.config, index, self.count, uuid.uuid4().hex[:8],
                         logging.getLogger().getEffectiveLevel(), os.getpid())
        reader, writer = self.context.Pipe(duplex=False)
        process = self.context.Process(target=child_main, args=(spec, reader),
                                       name=f"listd-delivery-{index}", daemon=False)
        process.start()
        reader.close()  # the child's end: only the child may hold it, so EOF means we died
        os.set_blocking(writer.fileno(), False)
        self.wake.pipes.add(writer.fileno())
        child = self.children[index] = Child(spec, process, writer, time.monotonic())
        log.info("delivery process %d of %d started (%s)", index + 1, self.count,
                 child.worker_id)

    def _forget(self, child: Child) -> int:
        """Give back what a dead child held (it is known dead: no need to wait for takeover)."""
        worker_id = child.worker_id
        with self.runtime.db.session() as session:
            released = claims.release_claims_of(session, {worker_id})
            forget(session, worker_id)
        return released

    def _close(self, child: Child) -> None:
        self.wake.pipes.discard(child.wake.fileno())
        child.wake.close()
        child.process.close()

    async def run(self, stopping: asyncio.Event) -> None:
        for index in range(1, self.count):
            self._start(index)
        try:
            while not stopping.is_set():
                ended = await self._wait_for_an_end(stopping)
                for index in ended:
                    await self._restart(index, stopping)
        finally:
            await self._stop_all()

    async def _wait_for_an_end(self, stopping: asyncio.Event) -> list[int]:
        """Wait until a child process ends (its sentinel) or the daemon stops."""
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()

        def on_end() -> None:
            if not ended.done():
                ended.set_result(None)

        sentinels = [child.process.sentinel for child in self.children.values()]
        for sentinel in sentinels:
            loop.add_reader(sentinel, on_end)
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait((ended, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            for sentinel in sentinels:
                loop.remove_reader(sentinel)
        return [index for index, child in self.children.items()
                if not child.process.is_alive()]

    async def _restart(self, index: int, stopping: asyncio.Event) -> None:
        child = self.children.pop(index)
        child.process.join()
        ran = time.monotonic() - child.started
        released = await self.runtime.db.run(self._forget, child)
        log.error("delivery process %d (%s) ended with exit code %s after %.0f s; %d claimed "
                  "deliveries given back", index + 1, child.worker_id, child.process.exitcode,
                  ran, released)
        self._close(child)
        self.wake.set()  # the rows given back are due: the others may take them meanwhile
        delay = RESTART_AFTER if ran >= HEALTHY_AFTER else \
            min(self.delays.get(index, RESTART_AFTER / 2) * 2, RESTART_AT_MOST)
        self.delays[index] = delay
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
        if not stopping.is_set():
            self._start(index)

    async def _stop_all(self) -> None:
        children = list(self.children.values())
        self.children = {}
        for child in children:
            with contextlib.suppress(ProcessLookupError, ValueError):
                child.process.terminate()  # SIGTERM: finish the chunks on the wire, stop
        deadline = time.monotonic() + self.grace
        for child in children:
            await asyncio.to_thread(child.process.join, max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                log.warning("delivery process %s did not stop within %.0f s: killed",
                            child.worker_id, self.grace)
                child.process.kill()
                await asyncio.to_thread(child.process.join)
            # Whatever it still held (killed, or its last write failed) goes back at once.
            with contextlib.suppress(Exception):
                await self.runtime.db.run(self._forget, child)
            self._close(child)


# -- the child's side ------------------------------------------------------------------------


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may have died before prctl took effect: then nobody would signal us.
    if os.getppid() != parent:
        os._exit(0)


def watch_parent(parent: int, on_gone: Callable[[str], None],
                 grace: float = PARENT_GONE_GRACE) -> threading.Thread:
    """A thread that calls ON_GONE once this process's parent is no longer PARENT, then ends
    the process GRACE seconds later if it is still there."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        with contextlib.suppress(Exception):
            on_gone(f"the parent pid is now {os.getppid()}, not {parent}")
        time.sleep(grace)
        log.error("the daemon (pid %d) is gone and this process did not stop within %g s: "
                  "exiting", parent, grace)
        logging.shutdown()
        os._exit(1)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def child_main(spec: ChildSpec, wake: Connection) -> None:
    """A delivery process: heartbeat and delivery worker, until SIGTERM or the daemon ends."""
    _die_with(spec.parent_pid)
    logging.basicConfig(level=spec.log_level, format="%(asctime)s %(levelname)s "
                        f"%(name)s[delivery {spec.index + 1}]: %(message)s")
    db = Database(spec.config.database)
    runtime = Runtime.create(spec.config, db)
    runtime.worker_id = process_id(os.getpid(), spec.suffix)
    try:
        asyncio.run(_deliver(runtime, spec, wake))
    finally:
        db.dispose()


async def _deliver(runtime: Runtime, spec: ChildSpec, wake: Connection) -> None:
    from listd.distribute.delivery import DeliveryWorker
    from listd.distribute.transport import make_transport

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals_seen = 0

    def daemon_gone(how: str) -> None:
        if not stopping.is_set():
            log.warning("the daemon is gone (%s): recording what is on the wire, then stopping",
                        how)
        stopping.set()

    def from_the_watch(how: str) -> None:
        loop.call_soon_threadsafe(daemon_gone, how)

    watch_parent(spec.parent_pid, from_the_watch)

    def on_signal() -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            os._exit(1)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    fd = wake.fileno()
    os.set_blocking(fd, False)

    def on_wake() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if data:
            runtime.signals.outbound.set()
        else:
            loop.remove_reader(fd)
            daemon_gone("the end of its pipe")

    loop.add_reader(fd, on_wake)
    heartbeat = HeartbeatWorker(runtime)
    # The first beat comes before any claim, so no other process takes this one for dead.
    await runtime.db.run(heartbeat.beat_once)
    heartbeat_stopping = asyncio.Event()
    beating = asyncio.create_task(heartbeat.run(heartbeat_stopping))
    outbound = share(runtime.config.outbound, spec.count, spec.index)
    worker = DeliveryWorker(runtime, make_transport(outbound), outbound, spec.count)
    runtime.signals.outbound.set()
    try:
        await worker.run(stopping)
    finally:
        heartbeat_stopping.set()
        await asyncio.gather(beating, return_exceptions=True)

