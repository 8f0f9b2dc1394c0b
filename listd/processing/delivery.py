"""What a handler of inbound mail is given, and what it answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from sqlalchemy.orm import Session

from listd.models import InboundMessage, InboundState, MailingList
from listd.posting.prepared import PreparedPost
from listd.runtime import Runtime
from listd.smtp_in.routing import Destination


@dataclass
class Delivery:
    """One stored message for one of its recipients."""

    inbound: InboundMessage
    raw: bytes
    destination: Destination
    mailing_list: MailingList | None
    # Worked out before the write transaction by the inbound worker (preparation.py).
    parsed: EmailMessage | None = None
    prepared_post: PreparedPost | None = None

    @property
    def message(self) -> EmailMessage:
        if self.parsed is None:
            self.parsed = parse_message(self.raw)
        return self.parsed

    @property
    def sender(self) -> str:
        return self.inbound.envelope_sender


def parse_message(raw: bytes) -> EmailMessage:
    # policy.default gives str headers and get_body(); defects are recorded, not raised.
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


@dataclass(frozen=True)
class Outcome:
    """How processing ended; the summary is shown in logs and in `listd queue status`."""

    summary: str
    state: InboundState = InboundState.DONE
    # Work the handler queued for delivery, so the outbound workers are woken after the commit.
    queued_mail: bool = field(default=False)


# A handler runs inside the transaction that also marks the inbound row done, so its effects
# and the "processed" mark are committed together or not at all.
Handler = Callable[[Session, Runtime, Delivery], Outcome]
