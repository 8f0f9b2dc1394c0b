"""Reading the archive for pages and replies: months, a month by date or by thread, search."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd.archive import search
from listd.models import ArchivedMessage, MailingList


@dataclass(frozen=True)
class Summary:
    number: int
    subject: str
    author: str
    date: dt.datetime
    thread_number: int
    message_id: str
    in_reply_to: str | None


def _summary(row: ArchivedMessage) -> Summary:
    return Summary(row.number, row.subject or "(no subject)", row.author_name or
                   row.author_address, row.date, row.thread_number, row.message_id,
                   row.in_reply_to)


def months(session: Session, mailing_list: MailingList) -> list[tuple[str, int]]:
    """(YYYY-MM, message count), newest first."""
    rows = session.execute(select(ArchivedMessage.date).where(
        ArchivedMessage.list_id == mailing_list.id))
    counts: dict[str, int] = {}
    for (date,) in rows:
        key = f"{date.year:04d}-{date.month:02d}"
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), reverse=True)


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime] | None:
    try:
        start = dt.datetime.strptime(month, "%Y-%m")
    except ValueError:
        return None
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def in_month(session: Session, mailing_list: MailingList, month: str) -> list[Summary]:
    """The month's messages by date; None-safe: an invalid month has none."""
    bounds = month_bounds(month)
    if bounds is None:
        return []
    rows = session.scalars(select(ArchivedMessage).where(
        ArchivedMessage.list_id == mailing_list.id, ArchivedMessage.date >= bounds[0],
        ArchivedMessage.date < bounds[1]).order_by(ArchivedMessage.date, ArchivedMessage.number))
    return [_summary(r) for r in rows]


def threads(summaries: list[Summary]) -> list[list[tuple[int, Summary]]]:
    """SUMMARIES grouped by thread (first message's date order), each as (depth, message)."""
    by_id = {s.message_id: s for s in summaries}
    groups: dict[int, list[Summary]] = {}
    for summary in summaries:
        groups.setdefault(summary.thread_number, []).append(summary)

    def depth(summary: Summary) -> int:
        seen, level = set(), 0
        while summary.in_reply_to in by_id and summary.message_id not in seen and level < 20:
            seen.add(summary.message_id)
            summary = by_id[summary.in_reply_to]  # type: ignore[index]
            level += 1
        return level

    return [[(depth(s), s) for s in group] for group in groups.values()]


def found(session: Session, mailing_list: MailingList, query: str) -> list[Summary]:
    ids = search.search(session, mailing_list.id, query)
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(select(ArchivedMessage).where(
        ArchivedMessage.id.in_(ids)))}
    return [_summary(rows[i]) for i in ids if i in rows]


def count(session: Session, mailing_list: MailingList) -> int:
    return session.scalar(select(func.count()).where(
        ArchivedMessage.list_id == mailing_list.id)) or 0
