"""The webhook queue: claim due events, record each answer, back off on failure.

Rows are claimed with a short lease (a process that dies mid-request loses its claims when
the lease ends), retried with exponential back-off, and given up only after MAX_AGE, so an
endpoint that is down for an hour misses nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from listd import audit
from listd.database import affected_rows
from listd.models import (
    MailingList,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
    PostDeliveredEvent,
    Webhook,
    WebhookDelivery,
    WebhookState,
)

LEASE = dt.timedelta(seconds=60)
MAX_AGE = dt.timedelta(days=3)
MAX_RESPONSE = 500
# How far back finished posts are looked for; older ones were reported or never will be.
POST_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class DueEvent:
    delivery_id: int
    url: str
    secret: str
    event: str
    body: str
    attempts: int
    created_at: dt.datetime


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2, 4 … capped at one hour."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def claim_due(session: Session, now: dt.datetime, worker_id: str, limit: int) -> list[DueEvent]:
    table = cast(Table, WebhookDelivery.__table__)
    due = (select(table.c.id).where(
        table.c.state == WebhookState.PENDING, table.c.next_attempt_at <= now,
        or_(table.c.claimed_at.is_(None), table.c.claimed_at < now - LEASE))
        .order_by(table.c.next_attempt_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.execute(
        update(table).where(table.c.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_at=now).returning(table.c.id)).scalars())
    if not ids:
        return []
    rows = session.execute(
        select(WebhookDelivery.id, Webhook.url, Webhook.secret, WebhookDelivery.event,
               WebhookDelivery.body, WebhookDelivery.attempts, WebhookDelivery.created_at)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.id.in_(ids)))
    return [DueEvent(*row) for row in rows]


def record_answer(session: Session, event: DueEvent, now: dt.datetime, worker_id: str,
                  delivered: bool, response: str) -> None:
    """Write what the endpoint answered, if this process still holds the claim."""
    values: dict[str, object] = {"attempts": event.attempts + 1, "claimed_by": None,
                                 "claimed_at": None, "last_response": response[:MAX_RESPONSE]}
    if delivered:
        values.update(state=WebhookState.DELIVERED, delivered_at=now)
    elif now - event.created_at >= MAX_AGE:
        values.update(state=WebhookState.FAILED)
    else:
        values.update(next_attempt_at=now + retry_delay(event.attempts + 1))
    session.execute(update(WebhookDelivery).where(
        WebhookDelivery.id == event.delivery_id, WebhookDelivery.claimed_by == worker_id)
        .values(**values), execution_options={"synchronize_session": False})


def _anyone_wants_deliveries(session: Session) -> bool:
    return any(not webhook.events or "post.delivered" in webhook.events
               for webhook in session.scalars(select(Webhook)))


def report_finished_posts(session: Session, now: dt.datetime) -> int:
    """Emit `post.delivered`, with its counts, for each post whose fan-out has ended."""
    if not _anyone_wants_deliveries(session):
        return 0
    unfinished = exists().where(
        OutboundEntry.outbound_id == OutboundMessage.id,
        OutboundEntry.state.in_((OutboundState.QUEUED, OutboundState.SENDING,
                                 OutboundState.DEFERRED)))
    reported = exists().where(PostDeliveredEvent.outbound_id == OutboundMessage.id)
    finished = list(session.scalars(select(OutboundMessage).where(
        OutboundMessage.kind == "post", OutboundMessage.expanded.is_(True),
        OutboundMessage.created_at >= now - POST_WINDOW,
        and_(~unfinished, ~reported)).limit(100)))
    for message in finished:
        counts = dict(session.execute(
            select(OutboundEntry.state, func.count()).where(
                OutboundEntry.outbound_id == message.id).group_by(OutboundEntry.state)).all())
        session.add(PostDeliveredEvent(outbound_id=message.id, at=now))
        mailing_list = session.get(MailingList, message.list_id) if message.list_id else None
        audit.record(session, audit.SYSTEM_ACTOR, "post.delivered", mailing_list,
                     None, post=message.id, sent=counts.get(OutboundState.SENT, 0),
                     failed=counts.get(OutboundState.FAILED, 0))
    return len(finished)


def claimers(session: Session) -> set[str]:
    """The processes (heartbeat ids) holding claims on webhook events."""
    return set(session.scalars(select(WebhookDelivery.claimed_by).distinct().where(
        WebhookDelivery.state == WebhookState.PENDING,
        WebhookDelivery.claimed_by.is_not(None))))


def release_claims_of(session: Session, owners: set[str]) -> int:
    """Give back the events claimed by OWNERS (processes found dead by their heartbeat)."""
    if not owners:
        return 0
    return affected_rows(session.execute(
        update(WebhookDelivery).where(WebhookDelivery.state == WebhookState.PENDING,
                                      WebhookDelivery.claimed_by.in_(owners))
        .values(claimed_by=None, claimed_at=None),
        execution_options={"synchronize_session": False}))
