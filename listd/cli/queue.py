"""`listd queue status | retry | show`: what waits, what was delivered to whom, what failed."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import case, func, select, update

from listd.addresses import scheme_address
from listd.cli.context import App, emit, json_option, pass_app
from listd.clock import utcnow
from listd.database import affected_rows
from listd.distribute.domain_quota import waiting_for_quota
from listd.errors import NotFound, UserError
from listd.models import (
    Domain,
    InboundMessage,
    InboundState,
    MailingList,
    OutboundEntry,
    OutboundMessage,
    OutboundState,
)

RETRYABLE = (OutboundState.DEFERRED, OutboundState.FAILED)


@click.group("queue")
def command() -> None:
    """The inbound and outbound queues."""


# The outcome of robot mail that got no reply (commands/handlers.py).
NOT_ANSWERED = "not answered: "


def _iso(value: Any) -> str | None:
    return value.isoformat(sep=" ", timespec="seconds") if value else None


@command.command("status")
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Counts by state and by post, the oldest deferred delivery, and mail kept for the admin."""
    with app.db.session() as session:
        inbound = dict(session.execute(select(InboundMessage.state, func.count())
                                       .group_by(InboundMessage.state)).all())
        outbound = dict(session.execute(select(OutboundEntry.state, func.count())
                                        .group_by(OutboundEntry.state)).all())
        oldest_deferred, next_attempt = session.execute(
            select(func.min(OutboundEntry.created_at), func.min(OutboundEntry.next_attempt_at))
            .where(OutboundEntry.state == OutboundState.DEFERRED)).one()
        unfinished = session.execute(
            select(OutboundEntry.outbound_id).where(OutboundEntry.state.in_(
                [OutboundState.QUEUED, OutboundState.SENDING, OutboundState.DEFERRED]))
            .distinct()).scalars().all()
        expanding = session.execute(select(OutboundMessage.id)
                                    .where(OutboundMessage.expanded.is_(False))).scalars().all()
        posts = _post_counts(session, sorted(set(unfinished) | set(expanding))[:50])
        paced = waiting_for_quota(session)
        kept = session.execute(
            select(InboundMessage.id, InboundMessage.recipient, InboundMessage.state,
                   InboundMessage.outcome)
            .where(InboundMessage.state.in_([InboundState.UNHANDLED, InboundState.SHUNTED]))
            .order_by(InboundMessage.id.desc()).limit(20)).all()
        unanswered = session.execute(
            select(InboundMessage.id, InboundMessage.recipient, InboundMessage.received_at,
                   InboundMessage.outcome)
            .where(InboundMessage.outcome.like(f"{NOT_ANSWERED}%"))
            .order_by(InboundMessage.id.desc()).limit(10)).all()
    report = {
        "inbound": {s.value: inbound.get(s, 0) for s in InboundState},
        "outbound": {s.value: outbound.get(s, 0) for s in OutboundState},
        "oldest_deferred": _iso(oldest_deferred),
        "next_attempt": _iso(next_attempt),
        "posts": posts,
        # Recipients held back by outbound.domain_quotas, per domain, and when the next goes.
        "waiting_for_domain_quota": [{"domain": w.domain, "recipients": w.recipients,
                                      "next_at": _iso(w.next_at)} for w in paced],
        "kept": [{"id": i, "recipient": r, "state": s.value, "outcome": o}
                 for i, r, s, o in kept],
        # Mail to the robot that got no reply, and why: what a newcomer's test mail hits.
        "not_answered": [{"id": i, "recipient": r, "received_at": _iso(at), "outcome": o}
                         for i, r, at, o in unanswered],
    }

    def render(r: dict[str, Any]) -> str:
        lines = ["inbound:  " + "  ".join(f"{k}={v}" for k, v in r["inbound"].items()),
                 "outbound: " + "  ".join(f"{k}={v}" for k, v in r["outbound"].items()),
                 f"oldest deferred: {r['oldest_deferred'] or '-'}   "
                 f"next attempt: {r['next_attempt'] or '-'}"]
        for post in r["posts"]:
            counts = "  ".join(f"{k}={v}" for k, v in post["counts"].items() if v)
            more = "" if post["expanded"] else "  (still queueing recipients)"
            lines.append(f"  post {post['id']} {post['list'] or '-'} {post['kind']}: "
                         f"{counts or 'no recipients yet'}{more}")
        for wait in r["waiting_for_domain_quota"]:
            lines.append(f"  waiting for the hourly quota of {wait['domain']}: "
                         f"{wait['recipients']} recipients, next at {wait['next_at']}")
        for item in r["kept"]:
            lines.append(f"  #{item['id']} {item['state']} <{item['recipient']}>: "
                         f"{item['outcome']}")
        if r["not_answered"]:
            lines.append("recent mail the robot did not answer:")
        for item in r["not_answered"]:
            lines.append(f"  #{item['id']} {item['received_at']} <{item['recipient']}>: "
                         f"{item['outcome']}")
        return "\n".join(lines)

    emit(report, as_json, render)


def _post_counts(session: Any, outbound_ids: list[int]) -> list[dict[str, Any]]:
    if not outbound_ids:
        return []
    heads = session.execute(
        select(OutboundMessage.id, OutboundMessage.kind, OutboundMessage.expanded,
               OutboundMessage.created_at, MailingList.name, Domain.name)
        .outerjoin(MailingList, MailingList.id == OutboundMessage.list_id)
        .outerjoin(Domain, Domain.id == MailingList.domain_id)
        .where(OutboundMessage.id.in_(outbound_ids)).order_by(OutboundMessage.id)).all()
    counts: dict[int, dict[str, int]] = {i: {s.value: 0 for s in OutboundState}
                                         for i in outbound_ids}
    for outbound_id, state, count in session.execute(
            select(OutboundEntry.outbound_id, OutboundEntry.state, func.count())
            .where(OutboundEntry.outbound_id.in_(outbound_ids))
            .group_by(OutboundEntry.outbound_id, OutboundEntry.state)).all():
        counts[outbound_id][state.value] = count
    return [{"id": i, "kind": kind, "list": scheme_address(name, domain) if name else None,
             "created_at": _iso(created), "expanded": expanded, "counts": counts[i]}
            for i, kind, expanded, created, name, domain in heads]


@command.command("retry")
@click.argument("entry_id", type=int, required=False)
@click.option("--all", "retry_all", is_flag=True,
              help="Every deferred and failed delivery, not just one.")
@pass_app
def retry(app: App, entry_id: int | None, retry_all: bool) -> None:
    """Send deferred or failed delivery ENTRY_ID (or --all of them) again, now."""
    if (entry_id is None) == (not retry_all):
        raise UserError("give a queue entry id or --all (not both)")
    with app.db.session() as session:
        query = update(OutboundEntry).where(OutboundEntry.state.in_(RETRYABLE))
        if entry_id is not None:
            state = session.scalar(select(OutboundEntry.state)
                                   .where(OutboundEntry.id == entry_id))
            if state is None:
                raise NotFound(f"no queue entry {entry_id}")
            if state not in RETRYABLE:
                raise UserError(f"queue entry {entry_id} is {state.value}; only deferred or "
                                f"failed deliveries are retried")
            query = query.where(OutboundEntry.id == entry_id)
        # created_at restarts too, so the give-up time counts from this retry.
        now = utcnow()
        count = affected_rows(session.execute(
            query.values(state=OutboundState.QUEUED, next_attempt_at=now, created_at=now),
            execution_options={"synchronize_session": False}))
    click.echo(f"{count} deliver{'y' if count == 1 else 'ies'} queued again")


@command.command("show")
@click.argument("post_id", type=int)
@click.option("--state", type=click.Choice([s.value for s in OutboundState]),
              help="Only the recipients in this state.")
@json_option
@pass_app
def show(app: App, post_id: int, state: str | None, as_json: bool) -> None:
    """The delivery report of outbound message POST_ID: who got it, who did not and why."""
    with app.db.session() as session:
        heads = _post_counts(session, [post_id])
        if not session.get(OutboundMessage, post_id):
            raise NotFound(f"no outbound message {post_id} (see 'listd queue status')")
        query = select(OutboundEntry.id, OutboundEntry.recipient, OutboundEntry.state,
                       OutboundEntry.attempts, OutboundEntry.sent_at,
                       OutboundEntry.next_attempt_at, OutboundEntry.last_response) \
            .where(OutboundEntry.outbound_id == post_id)
        if state:
            query = query.where(OutboundEntry.state == OutboundState(state))
        # Problems first: a report is read for what went wrong.
        order = case((OutboundEntry.state == OutboundState.FAILED, 0),
                     (OutboundEntry.state == OutboundState.DEFERRED, 1), else_=2)
        rows = session.execute(query.order_by(order, OutboundEntry.id)).all()
    report = {**heads[0], "recipients": [
        {"entry": i, "recipient": r, "state": s.value, "attempts": a, "sent_at": _iso(sent),
         "next_attempt": _iso(nxt) if s is OutboundState.DEFERRED else None, "response": resp}
        for i, r, s, a, sent, nxt, resp in rows]}

    def render(r: dict[str, Any]) -> str:
        counts = "  ".join(f"{k}={v}" for k, v in r["counts"].items() if v)
        lines = [f"post {r['id']} {r['list'] or '-'} {r['kind']} {r['created_at']}: {counts}"]
        for item in r["recipients"]:
            when = item["sent_at"] or (f"next {item['next_attempt']}"
                                       if item["next_attempt"] else "")
            lines.append(f"  #{item['entry']} {item['state']:<8} <{item['recipient']}> "
                         f"{when} {item['response'] or ''}".rstrip())
        return "\n".join(lines)

    emit(report, as_json, render)
