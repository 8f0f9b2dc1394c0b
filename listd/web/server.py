"""The web endpoint as one of `listd serve`'s workers: uvicorn's Server in the daemon's loop.

The socket is bound before the worker starts, so the port (0 in tests) is known at once, and
uvicorn is kept from installing signal handlers: the daemon owns SIGTERM and tells every
worker, this one included, through its `stopping` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn

from listd.config import HttpConfig
from listd.runtime import Runtime
from listd.web.app import create_app

log = logging.getLogger("listd.web")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class WebServer:
    def __init__(self, runtime: Runtime) -> None:
        self.settings: HttpConfig = runtime.config.http
        self.socket = _bind(self.settings.host, self.settings.port)
        config = uvicorn.Config(create_app(runtime), log_config=None, access_log=False,
                                server_header=False, lifespan="off", proxy_headers=True)
        self.server = _Server(config)

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    async def run(self, stopping: asyncio.Event) -> None:
        serving = asyncio.create_task(self.server.serve(sockets=[self.socket]))
        log.info("HTTP on %s:%d", self.settings.host, self.port)
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
        self.server.should_exit = True
        stop.cancel()
        try:
            await serving
        finally:
            self.socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock
