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


def mails_in_last_hour(session: Session, recipient: str, now: dt.datetime,
                       up_to: int | None = None) -> int:
    """The robot's mails to RECIPIENT in the hour before NOW, counted up to UP_TO (a bounded
    look, through ix_audit_log_subject, for a yes-or-no against the limit)."""
    mails = select(AuditEntry.id).where(
        AuditEntry.subject == recipient, AuditEntry.action == MAILED,
        AuditEntry.at > now - WINDOW)
    if up_to is not None:
        mails = mails.limit(up_to)
    return session.scalar(select(func.count()).select_from(mails.subquery())) or 0


def over_limit(session: Session, recipient: str, now: dt.datetime, per_hour: int) -> bool:
    return mails_in_last_hour(session, recipient, now, up_to=per_hour) >= per_hour
