"""Shunted inbound mail (Mailman's shunt queue): kept, listed, retried, and never silent.

A mail whose processing failed for a reason of ours is shunted: it stays in the database with
the error, `listd inbound ls --failed` lists it, `listd inbound retry ID|--all` queues it
again once the cause is fixed, and when it is shunted the list's owners (the listmasters for
mail to no list) are told once, by mail.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit, header_values
from listd.bounce.message import header
from listd.compose import compose
from listd.distribute.queue import enqueue_mail
from listd.errors import NotFound, UserError
from listd.members import addresses_with_role
from listd.models import InboundMessage, InboundState, MailingList, Role, StoredMessage
from listd.processing.delivery import Outcome
from listd.runtime import Runtime
from listd.templates import render

log = logging.getLogger("listd.processing")
ACTOR = "listd"


@dataclass(frozen=True)
class InboundView:
    """One inbound row as the admin sees it."""

    id: int
    state: str
    received_at: dt.datetime
    sender: str
    recipient: str
    destination: str
    attempts: int
    outcome: str


def shunt(session: Session, runtime: Runtime, row: InboundMessage, error: str,
          now: dt.datetime) -> Outcome:
    """Shunt ROW, failed with ERROR, and tell whoever runs its list, in a savepoint of its own
    (if even that fails, the mail is still shunted and the log says so)."""
    row.state = InboundState.SHUNTED
    row.outcome = f"shunted after {row.attempts} attempt(s): {error}"
    row.processed_at = now
    try:
        with session.begin_nested():
            told = _tell(session, runtime, row, error)
            audit.record(session, ACTOR, "inbound.shunted", _list_of(session, row),
                         row.envelope_sender or None, inbound_id=row.id, error=error,
                         told=told)
    except Exception:
        log.exception("queue_id=%d shunted, but telling the owners failed", row.id)
        told = []
    log.error("queue_id=%d rcpt=<%s> shunted; told %s", row.id, row.recipient,
              ", ".join(told) or "nobody")
    return Outcome(row.outcome, InboundState.SHUNTED, queued_mail=bool(told))


def listing(session: Session, failed_only: bool = False, limit: int = 100) -> list[InboundView]:
    query = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if failed_only:
        query = query.where(InboundMessage.state == InboundState.SHUNTED)
    return [InboundView(r.id, r.state.value, r.received_at, r.envelope_sender, r.recipient,
                        r.destination, r.attempts, r.outcome or "")
            for r in session.scalars(query)]


def retry(session: Session, runtime: Runtime, actor: str,
          inbound_id: int | None = None) -> list[int]:
    """Queue shunted mail again: one row (INBOUND_ID), or every shunted row when None."""
    if inbound_id is None:
        rows = list(session.scalars(select(InboundMessage).where(
            InboundMessage.state == InboundState.SHUNTED).order_by(InboundMessage.id)))
    else:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            raise NotFound(f"no inbound mail #{inbound_id}")
        if row.state is not InboundState.SHUNTED:
            raise UserError(f"inbound mail #{inbound_id} is {row.state.value}, not shunted")
        rows = [row]
    now = runtime.clock.now()
    for row in rows:
        row.state, row.attempts, row.next_attempt_at = InboundState.QUEUED, 0, now
        row.processed_at = None
        audit.record(session, actor, "inbound.retried", _list_of(session, row),
                     row.envelope_sender or None, inbound_id=row.id)
    return [row.id for row in rows]


def _tell(session: Session, runtime: Runtime, row: InboundMessage, error: str) -> list[str]:
    mailing_list = _list_of(session, row)
    config = runtime.config
    recipients = addresses_with_role(session, mailing_list, Role.OWNER) \
        if mailing_list is not None else []
    recipients = recipients or list(config.listmasters)
    if not recipients:
        return []
    domain = row.recipient.rpartition("@")[2]
    raw = session.scalar(select(StoredMessage.raw).where(StoredMessage.id == row.message_id))
    language = mailing_list.language if mailing_list is not None else config.language
    text = render("inbound_shunted", language, recipient=row.recipient, inbound_id=row.id,
                  sender=row.envelope_sender or "<>",
                  subject=_subject(raw or b"") or "(no subject)",
                  error=header_values.header_text(error, limit=300))
    message = compose(sender=f"{config.robot}@{domain}", to=", ".join(recipients),
                      subject=text.subject, body=text.body, auto_submitted="auto-generated")
    enqueue_mail(session, sender=f"{config.robot}-bounces@{domain}", recipients=recipients,
                 message=message, kind="notice",
                 list_id=mailing_list.id if mailing_list is not None else None)
    return recipients


def _subject(raw: bytes) -> str:
    # The header block alone: the body of a mail that failed may not parse at all.
    return header_values.header_text(
        header(BytesHeaderParser(policy=compat32).parsebytes(raw), "Subject"))


def _list_of(session: Session, row: InboundMessage) -> MailingList | None:
    return session.get(MailingList, row.list_id) if row.list_id else None
