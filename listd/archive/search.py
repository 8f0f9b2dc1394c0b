"""Full-text search of the archive: SQLite FTS5 on SQLite, PostgreSQL full-text on PostgreSQL.

The index is a table of its own, `archive_search`, kept beside `archived_messages` row for row
(rowid = archived message id). It is not a model: an FTS5 virtual table (and its shadow
tables) cannot be declared in SQLAlchemy, so it is created by `create_search_index`, which the
migration calls after the tables, and schema comparisons skip it (`is_search_table`).
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

SEARCH_TABLE = "archive_search"
MAX_RESULTS = 100
# PostgreSQL's 'simple' configuration: no stemming, so every language is searched alike.
PG_CONFIG = "simple"


def is_search_table(name: str | None) -> bool:
    return bool(name) and str(name).startswith(SEARCH_TABLE)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter: the search index is managed here, not by the models."""
    return not (type_ == "table" and is_search_table(name))


def create_search_index(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(text(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {SEARCH_TABLE} USING fts5("
            "subject, author, body, tokenize='unicode61 remove_diacritics 2')"))
        return
    connection.execute(text(
        f"CREATE TABLE IF NOT EXISTS {SEARCH_TABLE} ("
        "id INTEGER PRIMARY KEY REFERENCES archived_messages(id) ON DELETE CASCADE, "
        "document tsvector NOT NULL)"))
    connection.execute(text(
        f"CREATE INDEX IF NOT EXISTS ix_{SEARCH_TABLE}_document ON {SEARCH_TABLE} "
        "USING gin (document)"))


def drop_search_index(connection: Connection) -> None:
    connection.execute(text(f"DROP TABLE IF EXISTS {SEARCH_TABLE}"))


def index_message(session: Session, archived_id: int, subject: str, author: str,
                  body: str) -> None:
    index_messages(session, [{"id": archived_id, "subject": subject, "author": author,
                              "body": body}])


def index_messages(session: Session, rows: list[dict[str, object]]) -> None:
    """Index ROWS (id, subject, author, body) in one executemany."""
    if _is_sqlite(session):
        session.execute(text(
            f"INSERT INTO {SEARCH_TABLE} (rowid, subject, author, body) "
            "VALUES (:id, :subject, :author, :body)"), rows)
        return
    session.execute(text(
        f"INSERT INTO {SEARCH_TABLE} (id, document) VALUES (:id, "
        f"setweight(to_tsvector('{PG_CONFIG}', :subject), 'A') || "
        f"to_tsvector('{PG_CONFIG}', :author) || to_tsvector('{PG_CONFIG}', :body))"), rows)


def unindex_message(session: Session, archived_id: int) -> None:
    column = "rowid" if _is_sqlite(session) else "id"
    session.execute(text(f"DELETE FROM {SEARCH_TABLE} WHERE {column} = :id"),
                    {"id": archived_id})


def search_words(query: str) -> list[str]:
    """The words of a search box, as plain terms: no query syntax reaches the engine."""
    return re.findall(r"\w+", query.lower())[:20]


def search(session: Session, list_id: int, query: str, limit: int = MAX_RESULTS) -> list[int]:
    """Archived message ids of LIST_ID matching every word of QUERY, best first."""
    words = search_words(query)
    if not words:
        return []
    if _is_sqlite(session):
        match = " AND ".join(f'"{w}"' for w in words)
        rows = session.execute(text(
            f"SELECT a.id FROM {SEARCH_TABLE} s JOIN archived_messages a ON a.id = s.rowid "
            f"WHERE {SEARCH_TABLE} MATCH :match AND a.list_id = :list "
            "ORDER BY s.rank LIMIT :limit"), {"match": match, "list": list_id, "limit": limit})
    else:
        rows = session.execute(text(
            f"SELECT a.id FROM {SEARCH_TABLE} s JOIN archived_messages a ON a.id = s.id "
            f"WHERE s.document @@ plainto_tsquery('{PG_CONFIG}', :query) AND a.list_id = :list "
            f"ORDER BY ts_rank(s.document, plainto_tsquery('{PG_CONFIG}', :query)) DESC, "
            "a.date DESC LIMIT :limit"), {"query": " ".join(words), "list": list_id,
                                          "limit": limit})
    return [row[0] for row in rows]


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"
