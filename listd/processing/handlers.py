"""Which part of listd handles mail for each kind of address: one explicit table."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from listd.distribute.post import accept_post
from listd.models import InboundState
from listd.processing.delivery import Delivery, Handler, Outcome
from listd.processing.guards import loop_reason
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
    # Until the posting policy lands, every post that passes the loop guards is distributed.
    outbound = accept_post(session, runtime, delivery.mailing_list, delivery.raw,
                           delivery.inbound.message_id)
    return Outcome(f"accepted: distributed as outbound {outbound.id}", queued_mail=True)


HANDLERS: dict[DestinationKind, Handler] = {
    DestinationKind.POST: handle_post,
    DestinationKind.REQUEST: keep_unhandled,
    DestinationKind.ROBOT: keep_unhandled,
    DestinationKind.OWNER: keep_unhandled,
    DestinationKind.BOUNCES: keep_unhandled,
    DestinationKind.CONFIRM: keep_unhandled,
    DestinationKind.JOIN: keep_unhandled,
    DestinationKind.LEAVE: keep_unhandled,
}
