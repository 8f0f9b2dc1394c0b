"""What becomes of a mail listd cannot read: every kind of address gives it an outcome.

A post is held for the moderators with the reason (they see the original and decide); a
command mail is answered with what could not be read, and none of its commands is carried
out; a report to -bounces@ (or anything else) goes to the owners as it came. The same
outcomes serve when the email package raises part-way through a handler (failures.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from listd import header_values
from listd.addresses import try_normalize
from listd.commands import ratelimit
from listd.commands.guards import no_reply_reason
from listd.commands.outgoing import RobotAddresses, send
from listd.owner_mail import forward_to_owners
from listd.posting.decision import Decision, Verdict
from listd.posting.moderation import hold_post
from listd.processing.delivery import Delivery, Handler, Outcome
from listd.processing.readability import READ_ERRORS, Check, Unreadable, unreadable
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind
from listd.templates import render

log = logging.getLogger("listd.processing")

RULE = "malformed"
COMMAND_KINDS = frozenset({DestinationKind.REQUEST, DestinationKind.ROBOT,
                           DestinationKind.JOIN, DestinationKind.LEAVE,
                           DestinationKind.CONFIRM})


def readable(handler: Handler, checks: Sequence[Check]) -> Handler:
    """HANDLER, run only for a message that passes CHECKS; any other gets its outcome here."""
    def checked(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
        problem = unreadable(lambda: delivery.message, checks)
        if problem is None:
            return handler(session, runtime, delivery)
        log.info("queue_id=%d message_id=%s unreadable: %s", delivery.inbound.id,
                 delivery.header_text("Message-ID") or "-", problem)
        return handle_unreadable(session, runtime, delivery, problem)
    return checked


def handle_unreadable(session: Session, runtime: Runtime, delivery: Delivery,
                      problem: Unreadable) -> Outcome:
    kind = delivery.destination.kind
    if kind is DestinationKind.POST and delivery.sender and delivery.mailing_list is not None:
        return _hold(session, runtime, delivery, problem)
    if kind in COMMAND_KINDS:
        return _answer(session, runtime, delivery, problem)
    handed = forward_to_owners(session, runtime, delivery)
    return dataclasses.replace(handed, summary=f"unreadable ({problem}); {handed.summary}")


def _hold(session: Session, runtime: Runtime, delivery: Delivery,
          problem: Unreadable) -> Outcome:
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    poster = _poster(delivery) or delivery.sender
    verdict = Verdict(Decision.HOLD, RULE, f"listd could not read this message: {problem}")
    held = hold_post(session, runtime, mailing_list, message_id=delivery.inbound.message_id,
                     raw=delivery.raw, sender=poster,
                     subject=header_values.header_text(delivery.header_text("Subject")),
                     verdict=verdict)
    return Outcome(f"held as #{held.id} ({RULE}: {problem})", queued_mail=True)


def _answer(session: Session, runtime: Runtime, delivery: Delivery,
            problem: Unreadable) -> Outcome:
    try:
        silent = no_reply_reason(delivery.headers, delivery.sender, runtime.config)
    except READ_ERRORS:
        silent = None
    sender = _poster(delivery)
    if silent is not None or sender is None:
        why = silent.value if silent is not None else "no usable sender address"
        return Outcome(f"unreadable ({problem}); not answered: {why}")
    limit = runtime.config.robot_mails_per_hour
    if ratelimit.over_limit(session, sender, runtime.clock.now(), limit):
        return Outcome(f"unreadable ({problem}); not answered: {sender} had {limit} robot "
                       "mails in the last hour")
    mailing_list = delivery.mailing_list
    addresses = RobotAddresses.of(runtime, mailing_list, delivery.destination.domain)
    language = mailing_list.language if mailing_list is not None else runtime.config.language
    text = render("command_unreadable", language, request=addresses.request,
                  problem=header_values.header_text(str(problem), limit=300))
    send(session, runtime, addresses, to=[sender], text=text, kind="reply",
         mailing_list=mailing_list, in_reply_to=delivery.raw_header("Message-ID"))
    return Outcome(f"unreadable ({problem}); told {sender}", queued_mail=True)


def _poster(delivery: Delivery) -> str | None:
    return delivery.author[1] or try_normalize(delivery.sender)
