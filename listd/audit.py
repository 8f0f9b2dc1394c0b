"""The audit log: one row per decision or change, with who made it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from listd.models import AuditEntry, MailingList

CLI_ACTOR = "cli"
# Decisions listd takes by itself: the posting rules, expiry.
SYSTEM_ACTOR = "listd"


def record(session: Session, actor: str, action: str, mailing_list: MailingList | None = None,
           subject: str | None = None, **detail: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action,
                           list_id=mailing_list.id if mailing_list is not None else None,
                           subject=subject, detail=detail))
