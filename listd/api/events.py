"""What listd tells webhooks: each audited change that matters to another system, as an event.

Events are derived from the audit log at the moment an entry is written, in the same
transaction: whatever door made a change, its webhook event is queued exactly when the change
is committed, and never when it is rolled back.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.clock import utcnow
from listd.models import MailingList, Webhook, WebhookDelivery


class Event(enum.StrEnum):
    SUBSCRIBED = "member.subscribed"
    UNSUBSCRIBED = "member.unsubscribed"
    REMOVED_FOR_BOUNCING = "member.removed_for_bouncing"
    COMPLAINT = "member.complaint"
    LIST_APPROVED = "list.approved"
    POST_ACCEPTED = "post.accepted"
    POST_DELIVERED = "post.delivered"


@dataclass(frozen=True)
class Happening:
    event: Event
    data: dict[str, Any]


def _how(actor: str, subject: str | None, detail: dict[str, Any]) -> str:
    """How a membership change came about, in the words a CRM would file it under."""
    if detail.get("how"):
        return str(detail["how"])
    if actor.startswith("api:"):
        return "api"
    if actor == "cli":
        return "admin"
    if subject is not None and actor == subject:
        return "mail"
    return "owner"


def _member_change(action: str, actor: str, subject: str | None,
                   detail: dict[str, Any]) -> Happening | None:
    if detail.get("role", "subscriber") != "subscriber":
        return None
    base = {"address": subject, "by": actor}
    if action == "member.added":
        return Happening(Event.SUBSCRIBED, {**base, "how": _how(actor, subject, detail)})
    why = detail.get("why")
    if why == "bounces":
        return Happening(Event.REMOVED_FOR_BOUNCING, base)
    if why == "complaint":
        return Happening(Event.COMPLAINT, {**base,
                                           "feedback_type": detail.get("feedback_type")})
    how = "one-click" if action == "member.unsubscribed" else _how(actor, subject, detail)
    return Happening(Event.UNSUBSCRIBED, {**base, "how": how})


def happening_of(action: str, actor: str, subject: str | None,
                 detail: dict[str, Any]) -> Happening | None:
    if action in ("member.added", "member.removed", "member.unsubscribed"):
        return _member_change(action, actor, subject, detail)
    if action == "list.active":
        return Happening(Event.LIST_APPROVED, {"by": actor})
    if action == "post.accepted":
        return Happening(Event.POST_ACCEPTED, {"poster": subject,
                                               "message_id": detail.get("message_id")})
    if action == "post.delivered":
        return Happening(Event.POST_DELIVERED, dict(detail))
    return None


def wants(webhook: Webhook, event: Event, list_address: str | None) -> bool:
    if webhook.events and event.value not in webhook.events:
        return False
    return not webhook.lists or list_address in webhook.lists

# Built once: asked on every audited decision (each accepted post).
_WEBHOOKS = select(Webhook)


def emit(session: Session, happening: Happening, mailing_list: MailingList | None) -> int:
    """Queue HAPPENING for every webhook that wants it; the number queued."""
    webhooks = list(session.scalars(_WEBHOOKS))
    if not webhooks:
        return 0
    list_address = mailing_list.address if mailing_list is not None else None
    now = utcnow()
    queued = 0
    for webhook in webhooks:
        if not wants(webhook, happening.event, list_address):
            continue
        body = json.dumps({"event": happening.event.value, "list": list_address,
                           "at": now.isoformat(timespec="seconds") + "Z",
                           "data": happening.data}, ensure_ascii=False, default=str)
        session.add(WebhookDelivery(webhook_id=webhook.id, event=happening.event.value,
                                    body=body, next_attempt_at=now))
        queued += 1
    return queued


def on_audit(session: Session, action: str, actor: str, mailing_list: MailingList | None,
             subject: str | None, detail: dict[str, Any]) -> None:
    happening = happening_of(action, actor, subject, detail)
    if happening is not None:
        emit(session, happening, mailing_list)
