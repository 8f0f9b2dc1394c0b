"""Engines, sessions, and the one place where the daemon runs blocking database work."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from listd.errors import DatabaseError
from listd.models import SiteSetting

log = logging.getLogger("listd.database")

__all__ = ["Database", "DatabaseError", "create_db_engine", "site_secret"]

T = TypeVar("T")


def create_db_engine(url: str, read_only: bool = False) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"database: not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _tune_sqlite(engine, read_only)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    raise DatabaseError(f"database: unsupported backend {parsed.get_backend_name()!r} in {url!r}")


def _tune_sqlite(engine: Engine, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: a 250 is only sent after the commit, and the commit must survive a power cut.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=30000")
        if read_only:
            cur.execute("PRAGMA query_only=1")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers wait for each other through
        # busy_timeout instead of one failing at once when it upgrades a read lock. Readers
        # need no lock in WAL mode and run beside the writer.
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class WriteTurn:
    """Whose turn it is to write a SQLite database, across threads and processes.

    SQLite lets one writer in at a time; a second one (another delivery process, the CLI)
    gets SQLITE_BUSY and sleeps in SQLite's busy handler, 1, 2, 5, 10 … ms at a time, however
    soon the first one commits: with several processes delivering from one queue, those sleeps
    were most of their idle time. An exclusive flock on a file beside the database is handed
    on as soon as it is released, so writers take turns without sleeping. SQLite's own locking
    still decides (a writer that does not take the turn is only slower, never unsafe).
    """

    def __init__(self, database_path: str, timeout: float = 30.0) -> None:
        self.path = database_path + "-writer.lock"
        self.timeout = timeout
        self.fd: int | None = None
        self.unavailable = False
        self.local = threading.RLock()
        self.depth = 0

    @contextmanager
    def taken(self) -> Iterator[None]:
        if not self.local.acquire(timeout=self.timeout):
            raise DatabaseError(f"database: no turn to write within {self.timeout:g} s")
        try:
            fd = self._open()
            if self.depth == 0 and fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0 and fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self.local.release()

    def _open(self) -> int | None:
        """The lock file's descriptor; None where it cannot be opened (another user's file,
        a read-only directory): then SQLite's busy handler alone makes writers wait."""
        if self.fd is None and not self.unavailable:
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
            except OSError as exc:
                self.unavailable = True
                log.warning("database: no write turn (%s): %s", self.path, exc)
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Database:
    """An engine, a session factory, and an executor for running blocking work from asyncio."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time: one thread avoids lock contention inside a process.
        self._executor = ThreadPoolExecutor(max_workers=1 if self.is_sqlite else 8,
                                            thread_name_prefix="listd-db")
        if self.is_sqlite:
            self.reader_engine = create_db_engine(url, read_only=True)
            self._read_executor = ThreadPoolExecutor(max_workers=2,
                                                     thread_name_prefix="listd-db-read")
        else:
            self.reader_engine = self.engine
            self._read_executor = self._executor
        self.read_sessions = sessionmaker(self.reader_engine, expire_on_commit=False)
        path = self.engine.url.database if self.is_sqlite else None
        self.write_turn = WriteTurn(path) if path and path != ":memory:" else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction is committed on success and rolled back on error."""
        if self.write_turn is None:
            with self.sessions() as session, session.begin():
                yield session
            return
        with self.write_turn.taken(), self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for lookups only; on SQLite it does not wait for the writer."""
        with self.read_sessions() as session, session.begin():
            yield session

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking database work off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking lookup off the event loop, beside the writer where the backend allows."""
        return await asyncio.get_running_loop().run_in_executor(self._read_executor, fn, *args)

    def dispose(self) -> None:
        self._executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)
        self.engine.dispose()
        self.reader_engine.dispose()
        if self.write_turn is not None:
            self.write_turn.close()


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (such a statement's result is a cursor's)."""
    return cast("CursorResult[Any]", result).rowcount or 0


def site_secret(db: Database, configured: str | None) -> str:
    """The token signing key: the configured one, else one generated once and kept in the DB."""
    if configured:
        return configured
    with db.session() as session:
        row = session.scalar(select(SiteSetting).where(SiteSetting.key == "secret"))
        if row is not None:
            return row.value
    try:
        with db.session() as session:
            session.add(SiteSetting(key="secret", value=secrets.token_urlsafe(32)))
    except IntegrityError:
        pass  # another process generated it first; read theirs below
    with db.session() as session:
        return session.execute(select(SiteSetting.value).where(SiteSetting.key == "secret")
                               ).scalar_one()
