"""`listd serve` as a real subprocess, for tests that kill it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from tests.support.waiting import wait_until_sync

LISTENING = re.compile(r"listening on [\d.]+:(\d+)")
HTTP_ON = re.compile(r"HTTP on [\d.]+:(\d+)")


class ServeProcess:
    # Every one started and not yet waited for: a test that fails half-way (a second daemon
    # that does not start, say) must not leave the first running after it (conftest.py).
    started: ClassVar[set[ServeProcess]] = set()

    def __init__(self, config_file: Path, log_path: Path) -> None:
        self.config_file = config_file
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, extra_env: dict[str, str] | None = None) -> ServeProcess:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it until killed
        env = {**os.environ, **(extra_env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "listd.cli", "--config", str(self.config_file), "serve"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        ServeProcess.started.add(self)

        def bound_port() -> int | None:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"listd serve exited: {self.log()[-2000:]}")
            match = LISTENING.search(self.log()[offset:])
            return int(match.group(1)) if match else None

        # Generous: on a loaded machine a cold start (imports, then a child per core) is slow.
        self.port = wait_until_sync(bound_port, timeout=90, what="listd serve to listen")
        return self

    def http_port(self) -> int:
        found = wait_until_sync(lambda: HTTP_ON.search(self.log()), what="the HTTP port")
        return int(found.group(1))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    @classmethod
    def kill_leftovers(cls, keep: set[ServeProcess]) -> None:
        """Kill those started since KEEP was taken that still run."""
        for serve in cls.started - keep:
            if serve.process is not None and serve.process.poll() is None:
                serve.kill()
        cls.started &= keep
