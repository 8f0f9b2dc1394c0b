"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when LISTD_TEST_DATABASE_URL is set),
a config pointing at it, a real listd daemon on a free loopback port, and a real SMTP sink."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from listd import migrate
from listd.cli.main import cli
from listd.clock import OffsetClock
from listd.config import (
    BUILTIN_LIST_TEMPLATES,
    Config,
    HttpConfig,
    OutboundConfig,
    SmtpInConfig,
)
from listd.database import Database
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.support.dns_server import DnsServer
from tests.support.process import ServeProcess
from tests.support.sink import Sink

DOMAIN = "lists.example.org"
PG_URL = os.environ.get("LISTD_TEST_DATABASE_URL")


@contextlib.contextmanager
def scratch_database_url(directory: Path) -> Iterator[str]:
    """A fresh database: an SQLite file in DIRECTORY, or a PostgreSQL schema of its own
    (found through search_path, dropped afterwards) when LISTD_TEST_DATABASE_URL is set."""
    if not PG_URL:
        yield f"sqlite:///{directory / 'listd.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def no_serve_process_left() -> Iterator[None]:
    # Wider-scoped fixtures are set up before this one: their processes are in `before`.
    before = set(ServeProcess.started)
    yield
    ServeProcess.kill_leftovers(keep=before)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with scratch_database_url(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """The DNS every test's listd asks (DMARC, DKIM keys): never the machine's resolver.
    Tests publish records by changing its zone; clear it at the end of such a test."""
    with DnsServer() as server:
        yield server


@pytest.fixture
def zone(dns_server: DnsServer) -> Iterator[dict[str, dict[str, list[str]]]]:
    """The test DNS server's zone, emptied again after the test."""
    yield dns_server.zone
    dns_server.zone.clear()


@pytest.fixture
def config(database_url: str, tmp_path: Path, dns_server: DnsServer) -> Config:
    return Config(
        database=database_url,
        dns=dns_server.config,
        domains=(DOMAIN,),
        listmasters=("listmaster@example.org",),
        secret="test-secret",
        smtp_in=SmtpInConfig(host="127.0.0.1", port=0),
        http=HttpConfig(host="127.0.0.1", port=0, base_url="http://lists.example.org"),
        outbound=OutboundConfig(mode="maildir", path=str(tmp_path / "outbox")),
        source=str(tmp_path / "listd.yaml"),
        list_templates=str(BUILTIN_LIST_TEMPLATES),
    )


@pytest.fixture
def config_file(config: Config, tmp_path: Path) -> Path:
    """The same configuration as a YAML file, for the CLI and for subprocesses."""
    path = tmp_path / "listd.yaml"
    path.write_text(
        f"database: {config.database}\n"
        f"domains: [{DOMAIN}]\n"
        f"listmasters: [listmaster@example.org]\n"
        f"secret: test-secret\n"
        f"list_templates: {config.list_templates}\n"
        f"smtp_in: {{host: 127.0.0.1, port: 0}}\n"
        f"http: {{host: 127.0.0.1, port: 0}}\n"
        f"outbound: {{mode: maildir, path: {config.outbound.path}}}\n"
        f"dns: {{nameservers: [127.0.0.1], port: {config.dns.port}, "
        f"timeout: {config.dns.timeout}}}\n")
    return path


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    database = Database(config.database)
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> OffsetClock:
    return OffsetClock()


class CLI:
    """Runs `listd --config FILE …` in-process, exactly as the console script would."""

    def __init__(self, config_file: Path) -> None:
        self.config_file = config_file

    def __call__(self, *args: str, input: str | bytes | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, ["--config", str(self.config_file), *args], input=input,
                             catch_exceptions=False, prog_name="listd")

    def ok(self, *args: str, input: str | bytes | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result


@pytest.fixture
def listd_cli(config_file: Path, db: Database) -> CLI:
    return CLI(config_file)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    server = Sink()
    await server.start()
    yield server
    await server.stop()


def with_relay(config: Config, sink: Sink) -> Config:
    return dataclasses.replace(config, outbound=dataclasses.replace(
        config.outbound, mode="smtp", host="127.0.0.1", port=sink.port, connections=4))


@pytest.fixture
async def daemon(config: Config, db: Database, clock: OffsetClock) -> AsyncIterator[Daemon]:
    """listd serving on a free port in this test's event loop; outbound to the Maildir."""
    server = Daemon(Runtime.create(config, db, clock))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def relayed_daemon(config: Config, db: Database, clock: OffsetClock,
                         sink: Sink) -> AsyncIterator[Daemon]:
    """listd serving on a free port, relaying through the test sink."""
    server = Daemon(Runtime.create(with_relay(config, sink), db, clock))
    await server.start()
    yield server
    await server.stop()
