"""A post's report: what became of it, for every door (CLI, API, owners' pages).

A POST is named by its outbound message id, the id `listd queue show` and the `post.delivered`
webhook use; a `listd post send` that is not distributed yet (scheduled, cancelled, being
processed) is named `s` + its send id, a name that still finds it once it went out. The figures
are the queue rows still there plus what retention folded away before purging them
(`DeliverySummary`, `PostRecipient`, `BounceEvent.outbound_id`), so a report is whole after
the purge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, union
from sqlalchemy.orm import Session

from listd.bounce.scoring import MESSAGE_OR_SENDER_REASONS
from listd.errors import NotFound, UserError
from listd.models import (
    AuditEntry,
    BounceEvent,
    DeliverySummary,
    MailingList,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
    PostRecipient,
    PostSend,
    PostSendState,
    Role,
)
from listd.tracking.clicks import LinkClicks, clicks_per_link

REPORTED_KINDS = ("post", "digest")
DEFAULT_UNSUBSCRIBE_DAYS = 7
# `post ls` shows the newest posts first, this many unless told.
DEFAULT_LIMIT = 50
SEND_PREFIX = "s"


@dataclass(frozen=True)
class PostRef:
    """What a POST name points at: a distributed outbound message, a send, or both."""

    outbound_id: int | None
    send: PostSend | None

    @property
    def name(self) -> str:
        if self.outbound_id is not None:
            return str(self.outbound_id)
        assert self.send is not None
        return f"{SEND_PREFIX}{self.send.id}"


def resolve(session: Session, text: str) -> PostRef:
    """The post TEXT names (an outbound id, or `s` + a send id); NotFound if none."""
    value = text.strip().lower()
    is_send = value.startswith(SEND_PREFIX)
    number = value[len(SEND_PREFIX):] if is_send else value
    if not number.isdigit():
        raise UserError(f"post: {text!r} is not a post id (a number, or s + a number for a "
                        "scheduled send; see 'listd post ls')")
    if is_send:
        send = session.get(PostSend, int(number))
        if send is None:
            raise NotFound(f"post: no send {text} (see 'listd post ls')")
        return PostRef(send.outbound_id, send)
    outbound_id = int(number)
    if _head(session, outbound_id) is None:
        raise NotFound(f"post: no post {outbound_id} (see 'listd post ls')")
    send = session.scalar(select(PostSend).where(PostSend.outbound_id == outbound_id))
    return PostRef(outbound_id, send)


@dataclass(frozen=True)
class _Head:
    list_id: int | None
    kind: str
    created_at: dt.datetime
    subject: str
    expanded: bool


def _head(session: Session, outbound_id: int) -> _Head | None:
    message = session.get(OutboundMessage, outbound_id)
    if message is not None and message.kind in REPORTED_KINDS:
        return _Head(message.list_id, message.kind, message.created_at,
                     subject_of(message.raw), message.expanded)
    summary = session.get(DeliverySummary, outbound_id)
    if summary is not None and summary.kind in REPORTED_KINDS:
        return _Head(summary.list_id, summary.kind, summary.created_at, summary.subject, True)
    return None


def subject_of(raw: bytes) -> str:
    return str(BytesHeaderParser(policy=default).parsebytes(raw).get("Subject", ""))


@dataclass
class Figures:
    recipients: int = 0
    delivered: int = 0
    # Queued, not tried yet (or being sent right now).
    pending: int = 0
    # Tried, and still being tried.
    deferred: int = 0
    failed: int = 0
    # From bounce reports mailed back after delivery.
    bounced_hard: int = 0
    bounced_soft: int = 0
    # Refused for the message or its sender (spam, policy, reputation), not the address.
    bounced_policy: int = 0
    complaints: int = 0
    # Left within the report's days: by the one-click link, or themselves (mail, web).
    unsubscribed_one_click: int = 0
    unsubscribed_self: int = 0

    @property
    def unsubscribed(self) -> int:
        return self.unsubscribed_one_click + self.unsubscribed_self

    @property
    def bounced(self) -> int:
        return self.bounced_hard + self.bounced_soft + self.bounced_policy


@dataclass
class Report:
    post: str
    list_address: str | None
    kind: str
    state: str
    subject: str
    created_at: str | None
    send_at: str | None = None
    test: bool = False
    variant: str | None = None
    sample: str | None = None
    excluded_recipients_of: list[str] = field(default_factory=list)
    unsubscribe_days: int = DEFAULT_UNSUBSCRIBE_DAYS
    figures: Figures = field(default_factory=Figures)
    # The other half of an A/B pair, side by side.
    variants: list[Report] = field(default_factory=list)
    # The tracked links that were clicked (list setting `tracking`), in the post's order.
    clicks: list[LinkClicks] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"]["bounced"] = self.figures.bounced
        data["figures"]["unsubscribed"] = self.figures.unsubscribed
        for one, variant in zip(data["variants"], self.variants, strict=True):
            one["figures"]["bounced"] = variant.figures.bounced
            one["figures"]["unsubscribed"] = variant.figures.unsubscribed
        return data


def report(session: Session, ref: PostRef, days: int = DEFAULT_UNSUBSCRIBE_DAYS,
           with_variants: bool = True) -> Report:
    """The report of REF, unsubscribes counted over DAYS after it was sent."""
    if days < 0:
        raise UserError(f"days: {days} is negative")
    head = _head(session, ref.outbound_id) if ref.outbound_id is not None else None
    result = _frame(session, ref, head, days)
    if head is not None and ref.outbound_id is not None:
        result.figures = figures(session, ref.outbound_id, head.list_id, head.created_at, days)
        result.clicks = clicks_per_link(session, ref.outbound_id)
    if with_variants and ref.send is not None and ref.send.variant is not None:
        result.variants = [report(session, PostRef(other.outbound_id, other), days, False)
                           for other in _pair(session, ref.send)]
    return result


def _frame(session: Session, ref: PostRef, head: _Head | None, days: int) -> Report:
    send = ref.send
    list_id = head.list_id if head is not None else send.list_id if send else None
    mailing_list = session.get(MailingList, list_id) if list_id is not None else None
    created = head.created_at if head is not None else send.created_at if send else None
    return Report(
        post=ref.name, list_address=mailing_list.address if mailing_list is not None else None,
        kind=head.kind if head is not None else "post", state=_state(session, ref, head),
        subject=head.subject if head is not None else send.subject if send else "",
        created_at=_iso(created), send_at=_iso(send.send_at) if send else None,
        test=bool(send and send.test), variant=send.variant if send else None,
        sample=describe_sample(send) if send else None,
        excluded_recipients_of=[str(i) for i in send.exclude] if send else [],
        unsubscribe_days=days)


def describe_sample(send: PostSend) -> str | None:
    if send.sample_count is not None:
        return str(send.sample_count)
    if send.sample_percent is not None:
        return f"{send.sample_percent:g}%"
    return None


def _pair(session: Session, send: PostSend) -> list[PostSend]:
    return list(session.scalars(select(PostSend).where(
        PostSend.group_id == send.group_id, PostSend.id != send.id).order_by(PostSend.id)))


def _state(session: Session, ref: PostRef, head: _Head | None) -> str:
    if head is None:
        assert ref.send is not None
        if ref.send.state is PostSendState.SUBMITTED:
            return "processing"
        return ref.send.state.value
    if ref.send is not None and ref.send.test:
        return "test"
    unfinished = session.scalar(select(func.count()).where(
        OutboundEntry.outbound_id == ref.outbound_id,
        OutboundEntry.state.in_([OutboundState.QUEUED, OutboundState.SENDING,
                                 OutboundState.DEFERRED])))
    return "sending" if unfinished or not head.expanded else "sent"


def figures(session: Session, outbound_id: int, list_id: int | None, sent_at: dt.datetime,
            days: int) -> Figures:
    result = Figures()
    _delivery(session, outbound_id, result)
    _bounces(session, outbound_id, result)
    _unsubscribes(session, outbound_id, list_id, sent_at, days, result)
    return result


def _delivery(session: Session, outbound_id: int, result: Figures) -> None:
    counts: dict[OutboundState, int] = dict(session.execute(  # type: ignore[arg-type]
        select(OutboundEntry.state, func.count()).where(OutboundEntry.outbound_id == outbound_id)
        .group_by(OutboundEntry.state)).all())
    summary = session.get(DeliverySummary, outbound_id)
    folded = (summary.recipients, summary.delivered, summary.failed) if summary else (0, 0, 0)
    result.recipients = sum(counts.values()) + folded[0]
    result.delivered = counts.get(OutboundState.SENT, 0) + folded[1]
    result.failed = counts.get(OutboundState.FAILED, 0) + folded[2]
    result.deferred = counts.get(OutboundState.DEFERRED, 0)
    result.pending = counts.get(OutboundState.QUEUED, 0) + counts.get(OutboundState.SENDING, 0)


def _about(outbound_id: int) -> ColumnElement[bool]:
    """Bounce events about OUTBOUND_ID: by their queue row, or (once purged) by the id kept."""
    entries = select(OutboundEntry.id).where(OutboundEntry.outbound_id == outbound_id)
    return or_(BounceEvent.outbound_id == outbound_id, BounceEvent.outbound_entry_id.in_(entries))


def _bounces(session: Session, outbound_id: int, result: Figures) -> None:
    rows = session.execute(select(BounceEvent.address, BounceEvent.kind, BounceEvent.reason)
                           .where(_about(outbound_id), BounceEvent.source == "report")
                           .distinct()).all()
    # One address counts once per category, however many reports it sent.
    seen: dict[str, set[str]] = {}
    for address, kind, reason in rows:
        category = ("complaint" if kind == "complaint"
                    else "policy" if reason in MESSAGE_OR_SENDER_REASONS else kind)
        seen.setdefault(category, set()).add(address)
    result.bounced_hard = len(seen.get("hard", ()))
    result.bounced_soft = len(seen.get("soft", ()))
    result.bounced_policy = len(seen.get("policy", ()))
    result.complaints = len(seen.get("complaint", ()))


def recipients_of(outbound_ids: list[int]) -> Any:
    """The addresses OUTBOUND_IDS went to: queue rows, and what retention kept of them."""
    return union(
        select(OutboundEntry.recipient.label("address"))
        .where(OutboundEntry.outbound_id.in_(outbound_ids)),
        select(PostRecipient.address.label("address"))
        .where(PostRecipient.outbound_id.in_(outbound_ids))).subquery()


def _unsubscribes(session: Session, outbound_id: int, list_id: int | None,
                  sent_at: dt.datetime, days: int, result: Figures) -> None:
    to = recipients_of([outbound_id])
    rows = session.execute(
        select(AuditEntry.subject, AuditEntry.action, AuditEntry.actor, AuditEntry.detail)
        .join(to, to.c.address == AuditEntry.subject)
        .where(AuditEntry.action.in_(["member.unsubscribed", "member.removed"]),
               AuditEntry.at >= sent_at, AuditEntry.at <= sent_at + dt.timedelta(days=days),
               AuditEntry.list_id == list_id)).all()
    one_click: set[str] = set()
    itself: set[str] = set()
    for address, action, actor, detail in rows:
        if action == "member.unsubscribed":
            one_click.add(address)
        elif actor == address and (detail or {}).get("role", Role.SUBSCRIBER.value) == \
                Role.SUBSCRIBER.value:
            itself.add(address)
    result.unsubscribed_one_click = len(one_click)
    result.unsubscribed_self = len(itself - one_click)


def list_posts(session: Session, mailing_list: MailingList,
               limit: int = DEFAULT_LIMIT) -> list[Report]:
    """MAILING_LIST's posts and digests, newest first, with the sends not distributed yet."""
    live = select(OutboundMessage.id, OutboundMessage.created_at).where(
        OutboundMessage.list_id == mailing_list.id, OutboundMessage.kind.in_(REPORTED_KINDS))
    gone = select(DeliverySummary.outbound_id, DeliverySummary.created_at).where(
        DeliverySummary.list_id == mailing_list.id, DeliverySummary.kind.in_(REPORTED_KINDS),
        DeliverySummary.outbound_id.not_in(select(OutboundMessage.id)))
    posts = union(live, gone).subquery()
    ids = session.execute(select(posts).order_by(posts.c[1].desc(), posts.c[0].desc())
                          .limit(limit)).all()
    waiting = session.scalars(select(PostSend).where(
        PostSend.list_id == mailing_list.id, PostSend.outbound_id.is_(None))
        .order_by(PostSend.id.desc()).limit(limit)).all()
    reports = [report(session, PostRef(None, send), with_variants=False) for send in waiting]
    for outbound_id, _ in ids:
        send = session.scalar(select(PostSend).where(PostSend.outbound_id == outbound_id))
        reports.append(report(session, PostRef(outbound_id, send), with_variants=False))
    return reports


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None
