"""`listd serve` as a real process: SIGKILL after a 250 loses nothing, SIGTERM exits cleanly."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.models import InboundMessage, InboundState, OutboundMessage, StoredMessage
from tests.support.client import post
from tests.support.lists import make_list
from tests.support.process import ServeProcess
from tests.support.waiting import wait_until_sync

NEWS = "news@lists.example.org"


def rows(db: Database) -> list[InboundMessage]:
    with db.session() as session:
        return list(session.scalars(select(InboundMessage)))


def test_sigkill_right_after_250_then_restart_processes_the_mail_once(
        db: Database, config: Config, config_file: Path, tmp_path: Path) -> None:
    make_list(db, config, NEWS, subscribers=("a@example.org", "b@example.org"))
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    for number in range(5):
        post(serve.port, "a@example.org", NEWS, f"news {number}")
    serve.kill()
    assert len(rows(db)) == 5, "every 250 was preceded by a commit"

    serve.start()
    try:
        done = wait_until_sync(
            lambda: all(r.state is not InboundState.QUEUED for r in rows(db)) and rows(db),
            timeout=20, what="the restarted process to finish the queue")
        assert len(done) == 5
        with db.session() as session:
            assert len(session.scalars(select(StoredMessage.id)).all()) == 5
            # Exactly once: each post became one outbound message, whether it was processed
            # before the kill or after the restart.
            sources = session.scalars(select(OutboundMessage.source_message_id).where(
                OutboundMessage.kind == "post")).all()
        assert sorted(sources) == sorted(r.message_id for r in done)
    finally:
        assert serve.terminate() == 0
    assert "stopped" in serve.log()


def test_sigterm_stops_cleanly_and_a_bad_config_is_one_line(
        db: Database, config_file: Path, tmp_path: Path) -> None:
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    assert serve.terminate() == 0
    assert "finishing in-flight work" in serve.log()

    broken = tmp_path / "broken.yaml"
    broken.write_text("smtp_in: {port: 2525, lmpt: true}\n")
    bad = ServeProcess(broken, tmp_path / "bad.log")
    with contextlib.suppress(AssertionError):
        bad.start()
    assert bad.process is not None and bad.process.wait(timeout=10) == 1
    text = bad.log()
    assert "unknown key 'smtp_in.lmpt' (did you mean 'smtp_in.lmtp'?)" in text
    assert "Traceback" not in text


def test_a_taken_port_is_one_clear_line(db: Database, config: Config, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for section, expected in (("smtp_in", "SMTP"), ("http", "HTTP")):
            other = "http: {port: 0}" if section == "smtp_in" else "smtp_in: {port: 0}"
            path = tmp_path / f"{section}.yaml"
            path.write_text(f"database: {config.database}\ndomains: [lists.example.org]\n"
                            f"{section}: {{host: 127.0.0.1, port: {port}}}\n{other}\n")
            done = subprocess.run([sys.executable, "-m", "listd.cli", "--config", str(path),
                                   "serve"], capture_output=True, text=True, timeout=60)
            assert done.returncode == 1, done.stderr
            last = done.stderr.strip().splitlines()[-1]
            assert last.startswith(f"listd: error: cannot listen for {expected} on "
                                   f"127.0.0.1:{port}: Address already in use"), last
            assert "Traceback" not in done.stderr
