"""How many robot mails one address may get per hour, counted in the shared database.

Every mail the robot sends is recorded in the audit log (action `robot.mailed`, subject the
recipient), so all listd processes sharing the database see the same count, and a restart
forgets nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd.models import AuditEntry, MailingList

MAILED = "robot.mailed"
WINDOW = dt.timedelta(hours=1)


def record_mail(session: Session, recipient: str, kind: str, now: dt.datetime,
                mailing_list: MailingList | None = None) -> None:
    session.add(AuditEntry(at=now, actor="robot", action=MAILED, subject=recipient,
                           list_id=mailing_list.id if mailing_list is not None else None,
                           detail={"kind": kind}))


def mails_in_last_hour(session: Session, recipient: str, now: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == MAILED, AuditEntry.subject == recipient,
        AuditEntry.at > now - WINDOW)) or 0


def over_limit(session: Session, recipient: str, now: dt.datetime, per_hour: int) -> bool:
    return mails_in_last_hour(session, recipient, now) >= per_hour
