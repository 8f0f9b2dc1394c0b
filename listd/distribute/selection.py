"""Which members a `listd post send` goes to: the owners (a test), a recorded random sample
(one half of it for each of an A/B pair), or those who did not get earlier posts.

Called by the expansion (expand.py) in its transaction: the sample is drawn once per send
group, by the first batch of whichever of its messages expands first, and written to
post_selections before any of its rows is queued; every batch after it (in any process,
after any crash) reads the same rows, so the halves stay disjoint and exactly-once holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from listd.database import affected_rows
from listd.models import (
    Member,
    MemberStatus,
    OutboundEntry,
    PostRecipient,
    PostSelection,
    PostSend,
    Role,
)

SOLE_VARIANT = "A"


@dataclass(frozen=True)
class SendFilter:
    """How a send narrows (or, for a test, replaces) a post's usual recipients."""

    test: bool
    conditions: tuple[ColumnElement[bool], ...]

# Built once: asked for every accepted post.
_UNSENT_SEND = select(PostSend).where(PostSend.message_id == bindparam("message_id"),
                                      PostSend.outbound_id.is_(None))


def send_of(session: Session, source_message_id: int | None) -> PostSend | None:
    """The submitted send whose stored message SOURCE_MESSAGE_ID is, if one is."""
    if source_message_id is None:
        return None
    return session.scalar(_UNSENT_SEND, {"message_id": source_message_id})


def owners(list_id: int | None, after: int) -> ColumnElement[bool]:
    """A test's recipients: the list's owners, whatever their delivery mode."""
    return and_(Member.list_id == list_id, Member.role == Role.OWNER,
                Member.status == MemberStatus.ENABLED, Member.id > after)


def not_received(outbound_ids: list[int]) -> ColumnElement[bool]:
    """Members to whom none of OUTBOUND_IDS was queued (rows, or what retention kept)."""
    queued = exists().where(OutboundEntry.outbound_id.in_(outbound_ids),
                            OutboundEntry.recipient == Member.address)
    kept = exists().where(PostRecipient.outbound_id.in_(outbound_ids),
                          PostRecipient.address == Member.address)
    return and_(~queued, ~kept)


def send_filter(session: Session, send_id: int, eligible: ColumnElement[bool],
                now: dt.datetime) -> SendFilter:
    """SEND_ID's filter; ELIGIBLE is who would get the post without it."""
    one = session.get(PostSend, send_id)
    if one is None:
        return SendFilter(False, ())
    if one.test:
        return SendFilter(True, ())
    conditions: list[ColumnElement[bool]] = []
    if one.exclude:
        conditions.append(not_received(list(one.exclude)))
    if one.sample_count is not None or one.sample_percent is not None:
        group = one.group_id or one.id
        _draw(session, one, group, and_(eligible, *conditions), now)
        chosen = select(PostSelection.member_id).where(
            PostSelection.group_id == group,
            PostSelection.variant == (one.variant or SOLE_VARIANT))
        conditions = [Member.id.in_(chosen)]
    return SendFilter(False, tuple(conditions))


def _draw(session: Session, one: PostSend, group: int, eligible: ColumnElement[bool],
          now: dt.datetime) -> None:
    """Draw GROUP's sample from ELIGIBLE, unless it was drawn already (a conditional
    UPDATE: whoever comes second finds it done)."""
    first = affected_rows(session.execute(
        update(PostSend).where(PostSend.id == group, PostSend.selected_at.is_(None))
        .values(selected_at=now).execution_options(synchronize_session=False)))
    if not first:
        return
    total = session.scalar(select(func.count()).select_from(Member).where(eligible)) or 0
    size = one.sample_count if one.sample_count is not None \
        else round(total * (one.sample_percent or 0) / 100)
    size = min(size, total)
    session.execute(insert(PostSelection).from_select(
        ["group_id", "member_id", "variant"],
        select(literal(group, Integer()), Member.id, literal(SOLE_VARIANT, String()))
        .where(eligible).order_by(func.random()).limit(size)))
    if one.variant is None:
        return
    # The B half: a random half of the drawn members (A keeps the odd one).
    half = select(PostSelection.member_id).where(PostSelection.group_id == group) \
        .order_by(func.random()).limit(size // 2)
    session.execute(update(PostSelection).where(
        PostSelection.group_id == group, PostSelection.member_id.in_(half))
        .values(variant="B").execution_options(synchronize_session=False))
