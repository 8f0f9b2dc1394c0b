"""Registering webhooks: where listd sends its events, for which lists and events."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.api.events import Event
from listd.errors import NotFound, UserError
from listd.lists import find_list
from listd.models import Webhook


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"invalid webhook URL {url!r}: give an http:// or https:// URL")
    return url.strip()


def _check_events(events: Iterable[str]) -> list[str]:
    known = {e.value for e in Event}
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in known]
    if unknown:
        raise UserError(f"unknown event {unknown[0]!r}; events are: {', '.join(sorted(known))}")
    return chosen


def add_webhook(session: Session, url: str, lists: Iterable[str] = (),
                events: Iterable[str] = (), actor: str = audit.CLI_ACTOR) -> Webhook:
    webhook = Webhook(url=_check_url(url), secret=secrets.token_urlsafe(32),
                      lists=sorted({find_list(session, a).address for a in lists}),
                      events=_check_events(events))
    session.add(webhook)
    session.flush()
    audit.record(session, actor, "webhook.added", None, webhook.url, id=webhook.id,
                 lists=webhook.lists, events=webhook.events)
    return webhook


def list_webhooks(session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.id)))


def find_webhook(session: Session, ident: str) -> Webhook:
    """A webhook by its id or its URL."""
    query = select(Webhook).where(Webhook.id == int(ident)) if ident.isdigit() else \
        select(Webhook).where(Webhook.url == ident.strip())
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(f"no webhook {ident}")
    return found


def remove_webhook(session: Session, ident: str, actor: str = audit.CLI_ACTOR) -> None:
    webhook = find_webhook(session, ident)
    audit.record(session, actor, "webhook.removed", None, webhook.url, id=webhook.id)
    session.delete(webhook)


def describe_webhook(webhook: Webhook) -> dict[str, object]:
    return {"id": webhook.id, "url": webhook.url, "lists": list(webhook.lists) or "all",
            "events": list(webhook.events) or "all",
            "created_at": webhook.created_at.isoformat(timespec="seconds")}
