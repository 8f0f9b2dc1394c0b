"""Retention: finished records are deleted once older than their kind's `retention:` days.

Delivered (and failed-for-good) queue rows are first added up, per outbound message, into its
`DeliverySummary`, their recipients kept in `PostRecipient` and their bounce events given the
post's id (for post_report.py), in the same transaction, and the message itself goes with its
last row;
raw received messages go once their processing is done and no held post needs them; audit
entries and bounce events go by age. Each transaction handles a bounded slice per kind, so
a first run over a large backlog does not hold the database writer in one long transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from listd.config import RetentionConfig
from listd.database import affected_rows
from listd.models import (
    AuditEntry,
    BounceEvent,
    DeliverySummary,
    HeldMessage,
    InboundMessage,
    InboundState,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
    PostRecipient,
    StoredMessage,
)
from listd.post_report import REPORTED_KINDS, subject_of
from listd.runtime import Runtime

log = logging.getLogger("listd.retention")

# Outbound messages (with all their finished rows) and other rows per slice and kind.
MESSAGES_PER_RUN = 20
ROWS_PER_RUN = 10_000
# Slices per job run; what is left waits for the next run.
MAX_SLICES = 100
FINISHED = (OutboundState.SENT, OutboundState.FAILED)
# Inbound rows still being handled (or kept for the admin to retry) keep their raw message.
INBOUND_PENDING = (InboundState.QUEUED, InboundState.PROCESSING, InboundState.SHUNTED)


@dataclass(frozen=True)
class Purged:
    delivered: int = 0
    outbound_messages: int = 0
    raw_messages: int = 0
    audit: int = 0
    bounce_events: int = 0

    @property
    def total(self) -> int:
        return (self.delivered + self.outbound_messages + self.raw_messages + self.audit
                + self.bounce_events)


def _cutoff(now: dt.datetime, days: int) -> dt.datetime | None:
    return now - dt.timedelta(days=days) if days > 0 else None


def purge(session: Session, config: RetentionConfig, now: dt.datetime) -> Purged:
    """One bounded run over every kind; returns what it deleted."""
    delivered = messages = raw = audit = bounces = 0
    if (cutoff := _cutoff(now, config.delivered)) is not None:
        delivered = purge_delivered(session, cutoff, now)
        messages = purge_finished_messages(session, cutoff, now)
    if (cutoff := _cutoff(now, config.inbound)) is not None:
        raw = purge_raw_messages(session, cutoff)
    if (cutoff := _cutoff(now, config.audit)) is not None:
        audit = _delete_older(session, AuditEntry, AuditEntry.at < cutoff)
    if (cutoff := _cutoff(now, config.bounce_events)) is not None:
        bounces = _delete_older(session, BounceEvent, BounceEvent.received_at < cutoff)
    return Purged(delivered, messages, raw, audit, bounces)


def purge_delivered(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Fold finished queue rows created before CUTOFF into their summaries, then delete them."""
    finished = and_(OutboundEntry.state.in_(FINISHED), OutboundEntry.created_at < cutoff)
    counts = session.execute(
        select(OutboundEntry.outbound_id, func.count(),
               func.sum(case((OutboundEntry.state == OutboundState.SENT, 1), else_=0)),
               func.sum(case((OutboundEntry.attempts > 1, 1), else_=0)),
               func.sum(case((OutboundEntry.state == OutboundState.FAILED, 1), else_=0)))
        .where(finished).group_by(OutboundEntry.outbound_id)
        .order_by(OutboundEntry.outbound_id).limit(MESSAGES_PER_RUN)).all()
    if not counts:
        return 0
    summaries = _summaries(session, [row[0] for row in counts], now)
    for outbound_id, recipients, sent, deferred, failed in counts:
        summary = summaries[outbound_id]
        summary.recipients += recipients
        summary.delivered += sent or 0
        summary.deferred += deferred or 0
        summary.failed += failed or 0
        summary.updated_at = now
    session.flush()
    outbound_ids = [row[0] for row in counts]
    _keep_for_reports(session, and_(finished, OutboundEntry.outbound_id.in_(outbound_ids)))
    result = session.execute(delete(OutboundEntry).where(
        finished, OutboundEntry.outbound_id.in_(outbound_ids)))
    return affected_rows(result)


def _keep_for_reports(session: Session, going: ColumnElement[bool]) -> None:
    """What a post's report and `--exclude-recipients-of` need of the rows about to go: who
    each post or digest went to, and which post each bounce event was about."""
    reported = select(OutboundMessage.id).where(OutboundMessage.kind.in_(REPORTED_KINDS))
    session.execute(insert(PostRecipient).from_select(
        ["outbound_id", "address", "member_id"],
        select(OutboundEntry.outbound_id, OutboundEntry.recipient, OutboundEntry.member_id)
        .where(going, OutboundEntry.outbound_id.in_(reported))))
    entry = select(OutboundEntry.outbound_id).where(
        OutboundEntry.id == BounceEvent.outbound_entry_id).scalar_subquery()
    session.execute(update(BounceEvent).where(
        BounceEvent.outbound_id.is_(None),
        BounceEvent.outbound_entry_id.in_(select(OutboundEntry.id).where(going)))
        .values(outbound_id=entry).execution_options(synchronize_session=False))


def _summaries(session: Session, outbound_ids: list[int],
               now: dt.datetime) -> dict[int, DeliverySummary]:
    """The summary of each of OUTBOUND_IDS, made (with zero counts) where there is none yet."""
    found = {s.outbound_id: s for s in session.scalars(
        select(DeliverySummary).where(DeliverySummary.outbound_id.in_(outbound_ids)))}
    missing = [i for i in outbound_ids if i not in found]
    for message in session.scalars(select(OutboundMessage).where(
            OutboundMessage.id.in_(missing))) if missing else ():
        summary = DeliverySummary(
            outbound_id=message.id, list_id=message.list_id, kind=message.kind,
            source_message_id=message.source_message_id, created_at=message.created_at,
            subject=subject_of(message.raw)[:998], recipients=0, delivered=0, deferred=0,
            failed=0, updated_at=now)
        session.add(summary)
        found[message.id] = summary
    return found


def purge_finished_messages(session: Session, cutoff: dt.datetime, now: dt.datetime) -> int:
    """Delete outbound messages older than CUTOFF whose recipients are all summarised."""
    has_rows = exists().where(OutboundEntry.outbound_id == OutboundMessage.id)
    ids = list(session.scalars(select(OutboundMessage.id).where(
        OutboundMessage.created_at < cutoff, OutboundMessage.expanded.is_(True), ~has_rows)
        .order_by(OutboundMessage.id).limit(MESSAGES_PER_RUN)))
    if not ids:
        return 0
    _summaries(session, ids, now)
    session.flush()
    return affected_rows(session.execute(delete(OutboundMessage).where(
        OutboundMessage.id.in_(ids))))


def purge_raw_messages(session: Session, cutoff: dt.datetime) -> int:
    """Delete raw messages older than CUTOFF that are done with and not held."""
    held = exists().where(HeldMessage.message_id == StoredMessage.id)
    pending = exists().where(InboundMessage.message_id == StoredMessage.id,
                             InboundMessage.state.in_(INBOUND_PENDING))
    ids = list(session.scalars(select(StoredMessage.id).where(
        StoredMessage.created_at < cutoff, ~held, ~pending).limit(ROWS_PER_RUN)))
    if not ids:
        return 0
    return affected_rows(session.execute(delete(StoredMessage).where(
        StoredMessage.id.in_(ids))))


def _delete_older(session: Session, model: type[AuditEntry] | type[BounceEvent],
                  older: ColumnElement[bool]) -> int:
    ids = list(session.scalars(select(model.id).where(older).limit(ROWS_PER_RUN)))
    if not ids:
        return 0
    return affected_rows(session.execute(delete(model).where(model.id.in_(ids))))


def retention_job(runtime: Runtime) -> int:
    """The `retention` maintenance job: bounded slices, each in its own transaction (so the
    writer is free between them), until nothing is left to delete."""
    total = 0
    for _ in range(MAX_SLICES):
        with runtime.db.session() as session:
            purged = purge(session, runtime.config.retention, runtime.clock.now())
        if not purged.total:
            break
        log.info("retention: deleted %s", purged)
        total += purged.total
    return total
