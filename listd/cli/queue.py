"""`listd queue status`: what waits, what failed, what was kept."""

from __future__ import annotations

import click
from sqlalchemy import func, select

from listd.cli.context import App, emit, json_option, pass_app
from listd.models import InboundMessage, InboundState, OutboundEntry, OutboundState


@click.group("queue")
def command() -> None:
    """The inbound and outbound queues."""


@command.command("status")
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Counts by state, the oldest deferred delivery, and mail kept for the admin."""
    with app.db.session() as session:
        inbound = dict(session.execute(select(InboundMessage.state, func.count())
                                       .group_by(InboundMessage.state)).all())
        outbound = dict(session.execute(select(OutboundEntry.state, func.count())
                                        .group_by(OutboundEntry.state)).all())
        oldest_deferred, next_attempt = session.execute(
            select(func.min(OutboundEntry.created_at), func.min(OutboundEntry.next_attempt_at))
            .where(OutboundEntry.state == OutboundState.DEFERRED)).one()
        kept = session.execute(
            select(InboundMessage.id, InboundMessage.recipient, InboundMessage.state,
                   InboundMessage.outcome)
            .where(InboundMessage.state.in_([InboundState.UNHANDLED, InboundState.SHUNTED]))
            .order_by(InboundMessage.id.desc()).limit(20)).all()
    report = {
        "inbound": {s.value: inbound.get(s, 0) for s in InboundState},
        "outbound": {s.value: outbound.get(s, 0) for s in OutboundState},
        "oldest_deferred": oldest_deferred.isoformat() if oldest_deferred else None,
        "next_attempt": next_attempt.isoformat() if next_attempt else None,
        "kept": [{"id": i, "recipient": r, "state": s.value, "outcome": o}
                 for i, r, s, o in kept],
    }

    def render(r: dict[str, object]) -> str:
        lines = ["inbound:  " + "  ".join(f"{k}={v}" for k, v in r["inbound"].items()),  # type: ignore[attr-defined]
                 "outbound: " + "  ".join(f"{k}={v}" for k, v in r["outbound"].items()),  # type: ignore[attr-defined]
                 f"oldest deferred: {r['oldest_deferred'] or '-'}   "
                 f"next attempt: {r['next_attempt'] or '-'}"]
        for item in r["kept"]:  # type: ignore[attr-defined]
            lines.append(f"  #{item['id']} {item['state']} <{item['recipient']}>: "
                         f"{item['outcome']}")
        return "\n".join(lines)

    emit(report, as_json, render)
