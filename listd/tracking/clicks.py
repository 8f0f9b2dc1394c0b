"""Counting a click on a tracked link, and the counts a post's report shows.

A click is counted by one conditional UPDATE (clicks = clicks + 1); the first click of a link
inserts its row, and whoever loses that race counts with the UPDATE after all. With
`tracking: per_member` the member's click is kept too, and nothing else: no address, no IP,
no user agent, no time beyond the click's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listd.database import affected_rows
from listd.models import DeliverySummary, LinkClick, Member, MemberLinkClick, OutboundMessage
from listd.tracking.tokens import Link


@dataclass(frozen=True)
class LinkClicks:
    """One tracked link of a post and its clicks (members: distinct members who clicked,
    None unless the list tracked per member)."""

    link: int
    url: str
    clicks: int
    members: int | None = None


def outbound_of(session: Session, post: int) -> int | None:
    """The outbound message a tracked post went out as (also once its queue row was purged)."""
    found = session.scalar(select(OutboundMessage.id).where(
        OutboundMessage.source_message_id == post, OutboundMessage.kind == "post")
        .order_by(OutboundMessage.id).limit(1))
    if found is None:
        found = session.scalar(select(DeliverySummary.outbound_id).where(
            DeliverySummary.source_message_id == post, DeliverySummary.kind == "post")
            .order_by(DeliverySummary.outbound_id).limit(1))
    return found


def record_click(session: Session, link: Link, now: dt.datetime) -> int | None:
    """Count a click on LINK; the outbound id it counted for (None: the post is unknown)."""
    outbound_id = outbound_of(session, link.post)
    if outbound_id is None:
        return None
    if not _count(session, outbound_id, link, now):
        try:
            with session.begin_nested():
                session.add(LinkClick(outbound_id=outbound_id, link=link.link, url=link.url,
                                      clicks=1, first_at=now, last_at=now))
        except IntegrityError:
            _count(session, outbound_id, link, now)
    if link.member_id is not None and session.get(Member, link.member_id) is not None:
        session.add(MemberLinkClick(outbound_id=outbound_id, link=link.link,
                                    member_id=link.member_id, clicked_at=now))
    return outbound_id


def _count(session: Session, outbound_id: int, link: Link, now: dt.datetime) -> bool:
    result = session.execute(update(LinkClick).where(
        LinkClick.outbound_id == outbound_id, LinkClick.link == link.link).values(
        clicks=LinkClick.clicks + 1, last_at=now))
    return affected_rows(result) > 0


def clicks_per_link(session: Session, outbound_id: int) -> list[LinkClicks]:
    """The clicked links of OUTBOUND_ID, in the order of the post; a link nobody clicked has
    no row (the post's links are in its tokens, not in a table)."""
    members = dict(session.execute(
        select(MemberLinkClick.link, func.count(func.distinct(MemberLinkClick.member_id)))
        .where(MemberLinkClick.outbound_id == outbound_id)
        .group_by(MemberLinkClick.link)).all())
    rows = session.execute(select(LinkClick.link, LinkClick.url, LinkClick.clicks).where(
        LinkClick.outbound_id == outbound_id).order_by(LinkClick.link)).all()
    return [LinkClicks(link, url, clicks, members.get(link) if members else None)
            for link, url, clicks in rows]


def member_clicks(session: Session, outbound_id: int) -> list[tuple[str, str]]:
    """(address, url) of each member click on OUTBOUND_ID (tracking: per_member only)."""
    return list(session.execute(
        select(Member.address, LinkClick.url)
        .join(MemberLinkClick, MemberLinkClick.member_id == Member.id)
        .join(LinkClick, (LinkClick.outbound_id == MemberLinkClick.outbound_id)
              & (LinkClick.link == MemberLinkClick.link))
        .where(MemberLinkClick.outbound_id == outbound_id)
        .order_by(MemberLinkClick.id)).all())
