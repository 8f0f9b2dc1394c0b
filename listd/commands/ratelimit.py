"""How many robot mails one address may get per hour, counted in the shared database.

Every mail the robot sends is recorded in the audit log (action `robot.mailed`, subject the
recipient), so all listd processes sharing the database see the same count, and a restart
forgets nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from listd.models import AuditEntry, MailingList

MAILED = "robot.mailed"
WINDOW = dt.timedelta(hours=1)

_AUDIT_LOG = cast(Table, AuditEntry.__table__)
# Built once, as each is run for every mail the robot gets or sends: building a statement
# costs more than SQLite takes to run it. Core on the table: no ORM object is wanted.
_RECORD = insert(_AUDIT_LOG)
_MAILS = select(_AUDIT_LOG.c.id).where(
    _AUDIT_LOG.c.subject == bindparam("recipient"), _AUDIT_LOG.c.action == MAILED,
    _AUDIT_LOG.c.at > bindparam("since"))


def _counted(mails: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(mails.subquery())


_COUNT_ALL = _counted(_MAILS)
# A bounded look, through ix_audit_log_subject: a yes-or-no against the limit.
_COUNT_UP_TO = _counted(_MAILS.limit(bindparam("up_to")))


def record_mail(session: Session, recipient: str, kind: str, now: dt.datetime,
                mailing_list: MailingList | None = None) -> None:
    session.execute(_RECORD, {
        "at": now, "actor": "robot", "action": MAILED, "subject": recipient,
        "list_id": mailing_list.id if mailing_list is not None else None,
        "detail": {"kind": kind}})


def mails_in_last_hour(session: Session, recipient: str, now: dt.datetime,
                       up_to: int | None = None) -> int:
    """The robot's mails to RECIPIENT in the hour before NOW, counted up to UP_TO."""
    values = {"recipient": recipient, "since": now - WINDOW}
    if up_to is None:
        return session.scalar(_COUNT_ALL, values) or 0
    return session.scalar(_COUNT_UP_TO, {**values, "up_to": up_to}) or 0


def over_limit(session: Session, recipient: str, now: dt.datetime, per_hour: int) -> bool:
    return mails_in_last_hour(session, recipient, now, up_to=per_hour) >= per_hour
