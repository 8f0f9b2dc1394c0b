"""The slow part of handling an inbound message, done before the write transaction.

Parsing the MIME structure, the DNS checks of a post's sender and its rendering for the list
can take seconds (a silent resolver, a post of thousands of parts). They run here, in a
worker thread with a read-only session that never waits for or blocks the database writer,
within the message's `Budget`; the handler then decides and records in a short transaction
(worker.py). A failure here is kept and raised again inside that transaction, so it takes
the same way as any failure of processing (retried, then shunted, all logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesFeedParser

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from listd.bounce.classify import classify_message
from listd.bounce.report import BounceReport
from listd.models import InboundMessage, MailingList, StoredMessage
from listd.posting.intake import prepare_post
from listd.posting.prepared import PreparedPost
from listd.processing.budget import Budget
from listd.processing.delivery import Delivery
from listd.processing.mail_policy import INBOUND
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind, parse_local_part

log = logging.getLogger("listd.processing")

_RAW = select(StoredMessage.raw).where(StoredMessage.id == bindparam("message_id"))
# The row, its stored bytes and its list (with its domain, joined eagerly), in one query.
_ROW_RAW_AND_LIST = (select(InboundMessage, StoredMessage.raw, MailingList)
                     .join(StoredMessage, StoredMessage.id == InboundMessage.message_id)
                     .outerjoin(MailingList, MailingList.id == InboundMessage.list_id)
                     .where(InboundMessage.id == bindparam("row_id")))
# Bytes fed to the parser between two looks at the budget.
PARSE_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Preparation:
    # The stored bytes (immutable once stored), so the finishing transaction need not read
    # them again.
    raw: bytes | None = None
    message: EmailMessage | None = None
    post: PreparedPost | None = None
    # The list as read here (detached): the finishing transaction takes it into its session
    # without reading it again, as it takes the post's facts read here.
    mailing_list: MailingList | None = None
    # The row as read here (detached): what a handler reads of it (id, message, sender,
    # recipient, peer) never changes once stored; its state is written by the finishing step.
    row: InboundMessage | None = None
    # A delivery report classified (pure, from the bytes), outside the write transaction.
    bounce: BounceReport | None = None
    failure: Exception | None = None

    @property
    def ready(self) -> bool:
        """Read and prepared without a failure: its handler can run on what is here."""
        return self.failure is None and self.row is not None and self.raw is not None

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


def parse_within(raw: bytes, budget: Budget) -> EmailMessage:
    """RAW parsed as `Delivery.message` parses it, giving up once BUDGET is spent."""
    parser = BytesFeedParser(policy=INBOUND)
    for start in range(0, len(raw), PARSE_CHUNK):
        parser.feed(raw[start:start + PARSE_CHUNK])
        budget.check("parsing the message")
    message = parser.close()
    assert isinstance(message, EmailMessage)
    return message


def load_delivery(session: Session, runtime: Runtime, row: InboundMessage,
                  preparation: Preparation | None = None) -> Delivery:
    """ROW's delivery, with what PREPARATION read of it already: the stored message (it never
    changes) and its list."""
    raw = preparation.raw if preparation is not None else None
    if raw is None:
        raw = session.execute(_RAW, {"message_id": row.message_id}).scalar_one()
    local, _, domain = row.recipient.rpartition("@")
    destination = parse_local_part(local, domain, runtime.config.robot)
    prepared_list = preparation.mailing_list if preparation is not None else None
    if prepared_list is not None and prepared_list.id == row.list_id and \
            identity_key(MailingList, row.list_id) not in session.identity_map:
        # Taken in as read while preparing, a few milliseconds ago (no SELECT, no loading).
        # Not where the session has it already: that one may carry this transaction's changes.
        mailing_list: MailingList | None = session.merge(prepared_list, load=False)
    else:
        mailing_list = session.get(MailingList, row.list_id) if row.list_id else None
    return Delivery(inbound=row, raw=raw, destination=destination, mailing_list=mailing_list)


def prepare(runtime: Runtime, inbound_id: int) -> Preparation:
    """Everything slow about inbound row INBOUND_ID, worked out from a read-only session."""
    budget = Budget.of(runtime.config.processing)
    try:
        with runtime.db.reading() as session:
            found = session.execute(_ROW_RAW_AND_LIST, {"row_id": inbound_id}).first()
            if found is None:
                return Preparation()
            row, raw, mailing_list = found
            delivery = load_delivery(session, runtime, row,
                                     Preparation(raw=raw, mailing_list=mailing_list))
            message = parse_within(delivery.raw, budget)
            delivery.parsed = message
            post = prepare_post(session, runtime, delivery, budget) if _is_post(row) \
                and delivery.mailing_list is not None else None
        bounce = None
        if _is_report(row):
            bounce = classify_message(delivery.raw)
            budget.check("classifying the report")
    except Exception as exc:
        log.info("queue_id=%d preparation failed after %.1fs: %r", inbound_id,
                 budget.elapsed(), exc)
        return Preparation(failure=exc)
    return Preparation(raw=delivery.raw, message=message, post=post,
                       mailing_list=delivery.mailing_list, row=row, bounce=bounce)


def _is_post(row: InboundMessage) -> bool:
    # The null sender's mail to a list address goes to bounce processing, never out.
    return row.destination == DestinationKind.POST.value and bool(row.envelope_sender)


def _is_report(row: InboundMessage) -> bool:
    # What handlers.py hands to bounce processing: mail to -bounces, and the null sender's
    # to the posting address.
    return row.destination == DestinationKind.BOUNCES.value or (
        row.destination == DestinationKind.POST.value and not row.envelope_sender)
