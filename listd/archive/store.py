"""The archive store: posts numbered per list, idempotent on Message-ID, threaded on arrival."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from listd import audit
from listd.archive import search
from listd.archive.text import ArchiveFacts, facts
from listd.errors import NotFound
from listd.models import ArchivedMessage, MailingList
from listd.settings import ListSettings

log = logging.getLogger("listd.archive")


def archives(mailing_list: MailingList) -> bool:
    return ListSettings.of(mailing_list).archive != "off"


_ARCHIVED = cast(Table, ArchivedMessage.__table__)
# Built once (every accepted post is archived): the list's row lock, then in one round trip
# the list's last number and whether the Message-ID is archived already.
_LOCK_LIST = select(MailingList.id).where(MailingList.id == bindparam("list_id")).with_for_update()
_LAST_NUMBER_AND_SEEN = select(
    select(func.max(ArchivedMessage.number))
    .where(ArchivedMessage.list_id == bindparam("list_id")).scalar_subquery(),
    exists().where(ArchivedMessage.list_id == bindparam("list_id"),
                   ArchivedMessage.message_id == bindparam("message_id")))


def archive_message(session: Session, mailing_list: MailingList, raw: bytes,
                    now: dt.datetime) -> int | None:
    """Add RAW to the list's archive; its number, or None when a message with its Message-ID
    is there."""
    found = facts(raw)
    if session.get_bind().dialect.name != "sqlite":
        # The list's row lock serialises numbering between processes; SQLite has one writer
        # (its write transactions begin IMMEDIATE), so there it has nothing to add.
        session.execute(_LOCK_LIST, {"list_id": mailing_list.id})
    last, seen = session.execute(_LAST_NUMBER_AND_SEEN, {
        "list_id": mailing_list.id, "message_id": found.message_id}).one()
    if seen:
        return None
    number = (last or 0) + 1
    values = _row(mailing_list, found, raw, number, now)
    values["thread_number"] = _thread_of(session, mailing_list, found) or number
    # A Core insert (every accepted post is archived): no ORM unit of work.
    inserted = cast("CursorResult[Any]", session.execute(insert(_ARCHIVED), values))
    key = inserted.inserted_primary_key
    assert key is not None
    search.index_message(session, key[0], found.subject,
                         f"{found.author_name} {found.author_address}", found.body_text)
    log.info("%s: archived %s as #%d", mailing_list.address, found.message_id, number)
    return number


def _row(mailing_list: MailingList, found: ArchiveFacts, raw: bytes, number: int,
         now: dt.datetime) -> dict[str, Any]:
    return {
        "list_id": mailing_list.id, "number": number, "message_id": found.message_id[:998],
        "in_reply_to": found.in_reply_to[:998] if found.in_reply_to else None,
        "references": " ".join(found.references), "subject": found.subject[:998],
        "author_name": found.author_name[:255], "author_address": found.author_address[:320],
        "date": found.date or now, "body_text": found.body_text, "raw": raw, "size": len(raw),
        "archived_at": now}


def _thread_of(session: Session, mailing_list: MailingList, found: ArchiveFacts) -> int | None:
    """The thread of the nearest ancestor the archive holds."""
    ancestors = [*reversed(found.references)]
    if found.in_reply_to:
        ancestors.insert(0, found.in_reply_to)
    if not ancestors:
        return None
    rows = dict(session.execute(select(ArchivedMessage.message_id, ArchivedMessage.thread_number)
                                .where(ArchivedMessage.list_id == mailing_list.id,
                                       ArchivedMessage.message_id.in_(ancestors))).all())
    return next((rows[m] for m in ancestors if m in rows), None)


def by_number(session: Session, mailing_list: MailingList, number: int) -> ArchivedMessage:
    row = session.scalar(select(ArchivedMessage).where(
        ArchivedMessage.list_id == mailing_list.id, ArchivedMessage.number == number))
    if row is None:
        raise NotFound(f"{mailing_list.address} has no archived message #{number}")
    return row


def all_messages(session: Session, mailing_list: MailingList) -> list[ArchivedMessage]:
    return list(session.scalars(select(ArchivedMessage).where(
        ArchivedMessage.list_id == mailing_list.id).order_by(ArchivedMessage.date,
                                                             ArchivedMessage.number)))


def latest(session: Session, mailing_list: MailingList, count: int) -> list[ArchivedMessage]:
    return list(session.scalars(select(ArchivedMessage).where(
        ArchivedMessage.list_id == mailing_list.id).order_by(ArchivedMessage.number.desc())
        .limit(count)))


def remove_message(session: Session, mailing_list: MailingList, message_id: str,
                   actor: str = audit.CLI_ACTOR) -> int:
    """Take MESSAGE-ID out of the archive (a takedown), text and search entry alike."""
    wanted = message_id.strip()
    if not wanted.startswith("<"):
        wanted = f"<{wanted}>"
    row = session.scalar(select(ArchivedMessage).where(
        ArchivedMessage.list_id == mailing_list.id, ArchivedMessage.message_id == wanted))
    if row is None:
        raise NotFound(f"{mailing_list.address} has no archived message {wanted}")
    number = row.number
    search.unindex_message(session, row.id)
    session.execute(delete(ArchivedMessage).where(ArchivedMessage.id == row.id))
    audit.record(session, actor, "archive.removed", mailing_list, wanted, number=number)
    return number
