"""ORM objects for rows that a Core statement has just written or read, without a SELECT.

A Core INSERT or UPDATE … RETURNING costs a third of what the ORM's unit of work or its
entity loading costs (commands/, members.py: every confirmation round trip makes and reads
such rows). The callers still get an ORM object, persistent in their session, so what they
change on it later is written as usual when the session flushes.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

T = TypeVar("T")


def attached(session: Session, cls: type[T], row: RowMapping,
             changed: tuple[str, ...] = ()) -> T:
    """The CLS object of ROW (every column of the table, as the database now holds them),
    persistent in SESSION. An object of that row the session holds already is returned
    instead, as an ORM query would; CHANGED names the columns the statement wrote, which it
    is told of (the rest of it, with any change not yet flushed, is left as it is)."""
    known = session.identity_map.get(identity_key(cls, (row["id"],)))
    if known is not None:
        for name in changed:
            set_committed_value(known, name, row[name])
        return known  # type: ignore[return-value]
    instance = cls(**row)
    # Its attributes become the loaded state, with no change to write: a persistent object.
    make_transient_to_detached(instance)
    session.add(instance)
    return instance
