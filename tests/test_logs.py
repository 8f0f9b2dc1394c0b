"""The daemon's log says what happened, not that nothing did."""

from __future__ import annotations

import logging

import pytest

from listd.config import Config
from listd.database import Database
from listd.distribute.delivery import DeliveryWorker
from listd.distribute.transport import make_transport
from listd.logs import AIOSMTPD_LOGGER, quiet_protocol_log
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.support.client import dialogue, in_thread
from tests.support.lists import make_list


@pytest.fixture
def quiet() -> object:
    previous = logging.getLogger(AIOSMTPD_LOGGER).level
    quiet_protocol_log("INFO")
    yield
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(previous)


async def test_an_smtp_session_logs_listd_lines_not_aiosmtpd_chatter(
        quiet: object, daemon: Daemon, db: Database, config: Config,
        caplog: pytest.LogCaptureFixture) -> None:
    make_list(db, config, "news@lists.example.org")
    caplog.set_level(logging.INFO)
    await in_thread(dialogue, daemon.port, [
        b"EHLO client.example.org\r\n", b"MAIL FROM:<a@example.org>\r\n",
        b"RCPT TO:<ghost@lists.example.org>\r\n", b"QUIT\r\n"])
    names = [r.name for r in caplog.records]
    assert AIOSMTPD_LOGGER not in names
    assert any(r.name == "listd.smtp_in" and "refused" in r.getMessage()
               for r in caplog.records)
    assert not any("0 recorded" in r.getMessage() for r in caplog.records)


async def test_an_idle_delivery_round_logs_nothing(db: Database, config: Config,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    worker = DeliveryWorker(Runtime.create(config, db), make_transport(config.outbound))
    caplog.set_level(logging.INFO, logger="listd.distribute")
    worker._log([])
    assert caplog.records == []
