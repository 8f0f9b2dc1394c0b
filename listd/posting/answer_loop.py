"""Facts for the loop breaker: does a post answer, within seconds, a copy the list sent to
its poster, and how often did that poster do so lately?

An auto-responder that marks nothing (no Auto-Submitted) and answers the From: that DMARC
mitigation set to the list posts its answer to the list, whose copy it answers again: a loop
that only the rhythm gives away. A person reads before answering; a responder answers at once,
every time. Each quick answer is recorded in the audit log (by listd's clock), so every
process sharing the database counts the same.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.message import Message

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd.automatic_mail import QUICKEST_PERSON, header
from listd.models import AuditEntry, MailingList, OutboundEntry, OutboundMessage, StoredMessage

QUICK_ANSWER = "post.quick_answer"
# Quick answers by one poster within this window are counted together.
WINDOW = dt.timedelta(minutes=10)
# The references looked up: a responder quotes one, a thread may carry many.
MAX_REFERENCES = 20
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True)
class AnswerRhythm:
    """How a post relates to the list's own copies."""

    # It answers a copy the list sent to its poster less than QUICKEST_PERSON earlier.
    quick: bool = False
    # Quick answers by the same poster to this list within WINDOW, before this one.
    quick_before: int = 0


def referenced_ids(message: Message) -> list[str]:
    """The Message-IDs a post answers (In-Reply-To first, then the newest References)."""
    found = _MESSAGE_ID.findall(header(message, "In-Reply-To"))
    found += reversed(_MESSAGE_ID.findall(header(message, "References")))
    return list(dict.fromkeys(found))[:MAX_REFERENCES]


def read_rhythm(session: Session, mailing_list: MailingList, message: Message,
                posters: tuple[str, ...], now: dt.datetime) -> AnswerRhythm:
    if not posters:
        return AnswerRhythm()
    quick = _answers_a_fresh_copy(session, mailing_list, referenced_ids(message), posters, now)
    if not quick:
        return AnswerRhythm()
    before = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == QUICK_ANSWER, AuditEntry.list_id == mailing_list.id,
        AuditEntry.subject == posters[0], AuditEntry.at > now - WINDOW)) or 0
    return AnswerRhythm(quick=True, quick_before=before)


def _answers_a_fresh_copy(session: Session, mailing_list: MailingList, references: list[str],
                          posters: tuple[str, ...], now: dt.datetime) -> bool:
    if not references:
        return False
    sent = session.scalar(
        select(func.max(OutboundEntry.sent_at))
        .join(OutboundMessage, OutboundMessage.id == OutboundEntry.outbound_id)
        .join(StoredMessage, StoredMessage.id == OutboundMessage.source_message_id)
        .where(OutboundMessage.list_id == mailing_list.id, OutboundMessage.kind == "post",
               StoredMessage.message_id.in_(references), OutboundEntry.recipient.in_(posters)))
    return sent is not None and now - sent < QUICKEST_PERSON


def record_quick_answer(session: Session, mailing_list: MailingList, poster: str,
                        now: dt.datetime) -> None:
    session.add(AuditEntry(at=now, actor="listd", action=QUICK_ANSWER, list_id=mailing_list.id,
                           subject=poster))
