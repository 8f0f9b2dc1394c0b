"""A fresh database for one benchmark run: a SQLite file, or a PostgreSQL schema of its own."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text


@contextmanager
def scratch_database(postgresql_url: str | None) -> Iterator[str]:
    """Yield a database URL: SQLite in a temporary directory, or, given a PostgreSQL URL, that
    database with a new schema first on its search_path; the schema is dropped afterwards."""
    if not postgresql_url:
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{Path(scratch) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgresql_url else "?"
    try:
        yield f"{postgresql_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
