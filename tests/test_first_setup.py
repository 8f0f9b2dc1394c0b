"""A fresh install signs from the first mail, and says so plainly while the record is missing."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from listd.config import Config, HttpConfig
from listd.database import Database
from listd.deliverability.dkim_keys import active_key, dns_record
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import CLI, DOMAIN


def test_db_upgrade_and_domain_add_make_a_key_and_print_its_record(tmp_path: Path) -> None:
    database = tmp_path / "listd.db"
    config_file = tmp_path / "listd.yaml"
    config_file.write_text(f"database: sqlite:///{database}\ndomains: [{DOMAIN}]\n")
    cli = CLI(config_file)
    first = cli.ok("db", "upgrade").stdout
    db = Database(f"sqlite:///{database}")
    try:
        with db.reading() as session:
            key = active_key(session, DOMAIN)
            assert key is not None
            assert f"{dns_record(key).zone_line()}\n" in first
        assert "DKIM key" not in cli.ok("db", "upgrade").stdout  # one key, made once
        added = cli.ok("domain", "add", "other.example.net").stdout
        assert "DKIM key listd (rsa) created for other.example.net" in added
        assert "listd._domainkey.other.example.net. IN TXT" in added
        with db.reading() as session:
            assert active_key(session, "other.example.net") is not None
    finally:
        db.dispose()


async def test_serve_says_at_start_what_a_newcomer_would_miss(
        db: Database, config: Config, listd_cli: CLI, zone: dict[str, dict[str, list[str]]],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="listd.serve")
    listd_cli.ok("dkim", "keygen", DOMAIN)
    http = dataclasses.replace(config, http=HttpConfig(host="127.0.0.1", port=0,
                                                       base_url="http://lists.example.org"))
    daemon = Daemon(Runtime.create(http, db))
    await daemon.start()
    await daemon.stop()
    said = [r.getMessage() for r in caplog.records if r.name == "listd.serve"]
    assert any("http.base_url is http://lists.example.org: one-click unsubscribe (RFC 8058) "
               "needs https" in line for line in said), said
    assert any(line.startswith(f"DKIM for {DOMAIN}: no DKIM record at listd._domainkey."
                               f"{DOMAIN}") for line in said), said

    # Published, and https: nothing to say.
    with db.reading() as session:
        key = active_key(session, DOMAIN)
        assert key is not None
        record = dns_record(key)
    zone[record.name] = {"TXT": [" ".join(f'"{s}"' for s in record.strings)]}
    caplog.clear()
    https = dataclasses.replace(config, http=HttpConfig(host="127.0.0.1", port=0,
                                                        base_url="https://lists.example.org"))
    daemon = Daemon(Runtime.create(https, db))
    await daemon.start()
    await daemon.stop()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
            and r.name == "listd.serve"] == []
