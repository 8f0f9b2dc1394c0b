"""The audit log: one row per decision or change, with who made it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from listd.models import AuditEntry, MailingList

CLI_ACTOR = "cli"
# An API key acts as "api:NAME".
API_ACTOR_PREFIX = "api:"
# Decisions listd takes by itself: the posting rules, expiry.
SYSTEM_ACTOR = "listd"

_AUDIT_LOG = cast(Table, AuditEntry.__table__)


def record(session: Session, actor: str, action: str, mailing_list: MailingList | None = None,
           subject: str | None = None, **detail: Any) -> None:
    # A Core insert (no ORM unit of work): every post's decision is recorded. The row's
    # defaults (its time) are the columns' own, as with the ORM.
    session.execute(insert(_AUDIT_LOG), {
        "actor": actor, "action": action,
        "list_id": mailing_list.id if mailing_list is not None else None,
        "subject": subject, "detail": detail})
    # Imported here: the event table reads the models, which the CLI loads only when needed.
    from listd import subscription_notices
    from listd.api.events import on_audit

    on_audit(session, action, actor, mailing_list, subject, detail)
    # The owners' notices too are derived from the log, so every door sends them.
    subscription_notices.on_audit(session, action, mailing_list, subject, detail)


def entries(session: Session, *, list_ids: Sequence[int] | None = None, actor: str | None = None,
            since: dt.datetime | None = None, until: dt.datetime | None = None,
            before_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """Audit entries, newest first, filtered; LIST_IDS None means every list and none."""
    query = select(AuditEntry)
    if list_ids is not None:
        query = query.where(AuditEntry.list_id.in_(list_ids))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
