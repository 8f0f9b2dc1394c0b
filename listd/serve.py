"""`listd serve`: the listener and the workers in one event loop, with a graceful stop.

The first SIGTERM (or SIGINT) stops accepting connections, lets the workers finish what they
hold, and exits; a second one exits at once. Whatever was in flight is still in the database,
claimed or queued, and the next start (or another process) takes it over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import inspect

from listd import startup
from listd.api.webhook_sender import WebhookWorker
from listd.database import Database, DatabaseError
from listd.delivery_processes import DeliveryProcesses, WakeSignal
from listd.distribute.delivery import DeliveryWorker
from listd.distribute.expand import ExpanderWorker
from listd.distribute.shares import share
from listd.distribute.transport import make_transport
from listd.errors import UserError
from listd.maintenance import MaintenanceWorker
from listd.processes import HeartbeatWorker
from listd.processing.worker import InboundWorker
from listd.runtime import Runtime
from listd.smtp_in.server import start_listener
from listd.web.server import WebServer

log = logging.getLogger("listd.serve")

GRACE_SECONDS = 30.0


def check_schema(db: Database) -> None:
    if not inspect(db.engine).has_table("inbound"):
        raise DatabaseError("the database has no listd schema yet; run 'listd db upgrade'")


def _reason(error: OSError) -> str:
    # asyncio wraps the errno's text in a longer sentence; the errno says it plainly.
    return os.strerror(error.errno) if error.errno else str(error)


class ListenError(UserError):
    """A port listd was told to listen on cannot be had; the message names it and the key."""


class Daemon:
    def __init__(self, runtime: Runtime, delivery_processes: int = 1) -> None:
        """DELIVERY_PROCESSES: how many processes deliver (this one and the children it
        starts, listd/delivery_processes.py); `listd serve` passes the configured number,
        a daemon embedded in a test or benchmark delivers from its own process only."""
        self.runtime = runtime
        self.delivery_processes = max(1, delivery_processes)
        self.stopping = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.web: WebServer | None = None
        self.heartbeat = HeartbeatWorker(runtime)
        # The heartbeat outlives the other workers: while they finish, the claims they hold
        # must not look abandoned to the other processes.
        self.heartbeat_stopping = asyncio.Event()
        self.heartbeat_task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def http_port(self) -> int:
        """The port the web endpoint listens on (bound by start(); `http.port: 0` picks one)."""
        assert self.web is not None
        return self.web.port

    def _startup_notices(self) -> list[str]:
        config = self.runtime.config
        with self.runtime.db.reading() as session:
            return startup.config_notices(config) + startup.dkim_notices(session, config)

    async def start(self) -> None:
        runtime = self.runtime
        # The first beat comes before any claim, so no other process takes this one for dead.
        released = await runtime.db.run(self.heartbeat.beat_once)
        if released:
            log.info("took back %d deliveries claimed by a process that is gone", released)
        settings = runtime.config.smtp_in
        try:
            self.server = await start_listener(runtime.config, runtime.db,
                                               runtime.signals.inbound.set)
        except OSError as exc:
            raise ListenError(f"cannot listen for SMTP on {settings.host}:{settings.port}: "
                              f"{_reason(exc)} (smtp_in.port in {runtime.config.source})"
                              ) from None
        log.info("listening on %s:%d (%s), outbound via %s", settings.host, self.port,
                 "LMTP" if settings.lmtp else "SMTP", runtime.config.outbound.mode)
        for notice in await runtime.db.run_read(self._startup_notices):
            log.warning("%s", notice)
        count = self.delivery_processes
        outbound = share(runtime.config.outbound, count, 0)
        workers: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = [
            InboundWorker(runtime).run,
            ExpanderWorker(runtime).run,
            DeliveryWorker(runtime, make_transport(outbound), outbound, count).run,
            MaintenanceWorker(runtime).run,
            WebhookWorker(runtime).run,
        ]
        if count > 1:
            # Before any worker reads it: queued mail wakes the children too.
            wake = WakeSignal()
            runtime.signals.outbound = wake
            # Within the daemon's own grace: the children get most of it to finish.
            workers.append(DeliveryProcesses(runtime, count, wake, GRACE_SECONDS * 0.8).run)
            log.info("delivering from %d processes", count)
        if runtime.config.http.enabled:
            http = runtime.config.http
            try:
                self.web = WebServer(runtime)
            except OSError as exc:
                self.server.close()
                raise ListenError(f"cannot listen for HTTP on {http.host}:{http.port}: "
                                  f"{_reason(exc)} (http.port, or http.enabled: false, in "
                                  f"{runtime.config.source})") from None
            workers.append(self.web.run)
        self.heartbeat_task = asyncio.create_task(self.heartbeat.run(self.heartbeat_stopping))
        self.tasks = [asyncio.create_task(worker(self.stopping)) for worker in workers]
        # Mail stored while no process was running is waiting: look at once.
        runtime.signals.inbound.set()
        runtime.signals.mail_queued()

    async def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.close()
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                if task.exception() is not None:
                    log.error("worker ended with an error", exc_info=task.exception())
        self.heartbeat_stopping.set()
        if self.heartbeat_task is not None:
            await asyncio.gather(self.heartbeat_task, return_exceptions=True)
        log.info("stopped")

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        signals_seen = 0

        def on_signal(signum: int) -> None:
            nonlocal signals_seen
            signals_seen += 1
            if signals_seen > 1:
                log.warning("second %s: exiting now", signal.Signals(signum).name)
                os._exit(1)
            log.info("%s: finishing in-flight work, then stopping",
                     signal.Signals(signum).name)
            self.stopping.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        await self.start()
        await self.stopping.wait()
        await self.stop()

