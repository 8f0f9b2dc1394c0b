"""SQLite writers of several processes take turns through the database's write turn (a flock
beside the file) instead of sleeping in SQLite's busy handler (listd/database.py:WriteTurn).

The turn exists on SQLite only, so these tests use a SQLite file whatever backend the suite
runs against."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import text

from listd.database import Database


def _insert(url: str, value: int, done: Connection) -> None:
    db = Database(url)
    try:
        with db.session() as session:
            session.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": value})
        done.send("written")
    finally:
        db.dispose()


def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'turn.db'}")
    with db.session() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    return db


def _values(db: Database) -> list[int]:
    with db.reading() as session:
        return sorted(session.scalars(text("SELECT x FROM t")))


def test_a_second_process_writes_once_the_turn_is_given_back(tmp_path: Path) -> None:
    db = _database(tmp_path)
    assert db.write_turn is not None
    context = multiprocessing.get_context("spawn")
    received, sent = context.Pipe(duplex=False)
    child = context.Process(target=_insert, args=(db.url, 2, sent))
    try:
        with db.write_turn.taken():
            child.start()
            # Holding the turn without a statement leaves SQLite unlocked: only the turn
            # keeps the other process out.
            assert not received.poll(2.0)
            assert _values(db) == []
        assert received.poll(60), "the other process never wrote after the turn was free"
        assert received.recv() == "written"
        child.join(30)
        assert child.exitcode == 0
        assert _values(db) == [2]
    finally:
        if child.is_alive():
            child.kill()
        db.dispose()


def test_sessions_nested_in_one_thread_keep_the_turn_until_the_outer_one_ends(
        tmp_path: Path) -> None:
    db = _database(tmp_path)
    assert db.write_turn is not None
    context = multiprocessing.get_context("spawn")
    received, sent = context.Pipe(duplex=False)
    child = context.Process(target=_insert, args=(db.url, 3, sent))
    try:
        with db.write_turn.taken():
            # A session inside the turn (as a session within a session) ends and commits,
            # which must not give the outer turn away: SQLite is unlocked again after it.
            with db.session() as inner:
                inner.execute(text("INSERT INTO t (x) VALUES (1)"))
            child.start()
            assert not received.poll(2.0)
        assert received.poll(60)
        child.join(30)
        assert _values(db) == [1, 3]
    finally:
        if child.is_alive():
            child.kill()
        db.dispose()
