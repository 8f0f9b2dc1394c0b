"""Which part of listd handles mail for each kind of address: one explicit table."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from listd.bounce.handler import handle_bounce
from listd.commands import handlers as commands
from listd.models import InboundState
from listd.owner_mail import forward_to_owners
from listd.posting.intake import process_post
from listd.processing.delivery import Delivery, Handler, Outcome
from listd.processing.guards import loop_reason
from listd.processing.malformed import readable
from listd.processing.readability import FOR_POSTS, FOR_READING
from listd.runtime import Runtime
from listd.smtp_in.routing import DestinationKind


def keep_unhandled(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    return Outcome(f"kept: no handler for {delivery.destination.kind.value} mail yet",
                   InboundState.UNHANDLED)


def handle_post(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    if not delivery.sender:
        # The null sender marks bounces and other automatic mail (RFC 5321 4.5.5); it is
        # never a post, whatever its recipient.
        handed = HANDLERS[DestinationKind.BOUNCES](session, runtime, delivery)
        return dataclasses.replace(
            handed, summary=f"null sender, so not a post; to bounce processing: {handed.summary}")
    assert delivery.mailing_list is not None
    reason = loop_reason(delivery.message, delivery.mailing_list)
    if reason:
        return Outcome(f"kept, not redistributed: {reason}")
    return process_post(session, runtime, delivery)


# Each handler but the owners' forward (which passes the bytes on unread) first checks that
# it can read the message (malformed.py gives an unreadable one its outcome).
HANDLERS: dict[DestinationKind, Handler] = {
    DestinationKind.POST: readable(handle_post, FOR_POSTS),
    DestinationKind.REQUEST: readable(commands.handle_commands, FOR_READING),
    DestinationKind.ROBOT: readable(commands.handle_commands, FOR_READING),
    DestinationKind.OWNER: forward_to_owners,
    DestinationKind.BOUNCES: readable(handle_bounce, FOR_READING),
    DestinationKind.CONFIRM: readable(commands.handle_confirm, FOR_READING),
    DestinationKind.JOIN: readable(commands.handle_join, FOR_READING),
    DestinationKind.LEAVE: readable(commands.handle_leave, FOR_READING),
}
