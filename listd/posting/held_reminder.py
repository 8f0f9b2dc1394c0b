"""Once a day, the moderators of a list are reminded of the posts that have waited for them for
more than a day (Sympa's daily reminder of the moderation queue). Safe in several processes:
each list's reminder is claimed by a conditional UPDATE of `lists.held_reminded_at`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from listd.i18n import N_, translate
from listd.models import HeldMessage, HeldState, MailingList
from listd.posting import notices
from listd.posting.moderation import moderators_of
from listd.runtime import Runtime
from listd.settings import ListSettings

REMIND_EVERY = dt.timedelta(days=1)
POST_LINE = N_("#{id} from {sender}: {subject}\n    DISTRIBUTE {token}\n    REJECT {token}")


def remind_moderators(runtime: Runtime) -> int:
    """Remind each list whose posts waited more than a day, once a day; how many lists."""
    cutoff = runtime.clock.now() - REMIND_EVERY
    with runtime.db.session() as session:
        due = list(session.scalars(select(HeldMessage.list_id).distinct().where(
            HeldMessage.state == HeldState.HELD, HeldMessage.held_at <= cutoff)))
    reminded = 0
    for list_id in due:
        with runtime.db.session() as session:
            reminded += _remind(session, runtime, list_id, cutoff)
    return reminded


def _claimed(session: Session, list_id: int, now: dt.datetime, cutoff: dt.datetime) -> bool:
    claimed = session.execute(update(MailingList).where(
        MailingList.id == list_id,
        or_(MailingList.held_reminded_at.is_(None), MailingList.held_reminded_at <= cutoff))
        .values(held_reminded_at=now).execution_options(synchronize_session=False))
    return bool(getattr(claimed, "rowcount", 0))


def _remind(session: Session, runtime: Runtime, list_id: int, cutoff: dt.datetime) -> int:
    mailing_list = session.get(MailingList, list_id)
    if mailing_list is None or not ListSettings.of(mailing_list).held_reminder:
        return 0
    if not _claimed(session, list_id, runtime.clock.now(), cutoff):
        return 0  # another process reminded, or one was sent less than a day ago
    waiting = list(session.scalars(select(HeldMessage).where(
        HeldMessage.list_id == list_id, HeldMessage.state == HeldState.HELD,
        HeldMessage.held_at <= cutoff).order_by(HeldMessage.id)))
    posts = "\n".join(translate(mailing_list.language, POST_LINE, id=post.id,
                                sender=post.sender, subject=post.subject or "-",
                                token=post.token) for post in waiting)
    notices.send_list_notice(
        session, mailing_list, "held_reminder", moderators_of(session, mailing_list),
        count=len(waiting), posts=posts,
        robot=notices.robot_address(mailing_list, runtime.config.robot),
        days=ListSettings.of(mailing_list).held_expire_days)
    return 1
