"""What distribution keeps of a post besides sending it: its archive entry, its digest place."""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd.archive.store import archive_message, archives
from listd.archive.urls import message_url
from listd.digest.store import record_post
from listd.models import MailingList
from listd.runtime import Runtime
from listd.settings import ListSettings


def keep_post(session: Session, runtime: Runtime, mailing_list: MailingList,
              raw: bytes) -> str | None:
    """Archive RAW (as its author sent it) and keep it for the next digest, in the caller's
    transaction; the post's Archived-At URL when the web archive serves it."""
    now = runtime.clock.now()
    number = archive_message(session, mailing_list, raw, now) \
        if archives(mailing_list) else None
    record_post(session, mailing_list, raw, number, now)
    if number is None:
        return None
    return message_url(ListSettings.of(mailing_list), runtime.config.http.base_url,
                       mailing_list.address, number)
