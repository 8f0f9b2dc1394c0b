"""What a handler of inbound mail is given, and what it answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr
from functools import cached_property

from sqlalchemy.orm import Session

from listd.addresses import try_normalize
from listd.bounce.message import header, parse_headers_text
from listd.bounce.report import BounceReport
from listd.models import InboundMessage, InboundState, MailingList
from listd.posting.prepared import PreparedPost
from listd.processing.mail_policy import INBOUND
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
    prepared_bounce: BounceReport | None = None

    @property
    def message(self) -> EmailMessage:
        if self.parsed is None:
            self.parsed = parse_message(self.raw)
        return self.parsed

    @cached_property
    def headers(self) -> EmailMessage:
        """The header block alone, parsed the lenient way (compat32 never interprets a value),
        for reading a malformed message's Subject or Message-ID."""
        parsed = BytesHeaderParser(EmailMessage, policy=policy.compat32).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def header_text(self, name: str) -> str:
        """Header NAME decoded for reading (a Subject), '' when absent."""
        return header(self.headers, name)

    def raw_header(self, name: str) -> str:
        """Header NAME as sent, encoded words not decoded: where an address or a Message-ID
        is read, an encoded word cannot bring in one of its own (`=?utf-8?q?x@evil?=`)."""
        return str(self.headers.get(name, ""))

    @property
    def author(self) -> tuple[str, str | None]:
        """The From: display name (decoded) and its normalised address, if usable."""
        name, address = parseaddr(self.raw_header("From"))
        return header(parse_headers_text(f"Name: {name}\n"), "Name"), try_normalize(address)

    @property
    def sender(self) -> str:
        return self.inbound.envelope_sender


def parse_message(raw: bytes) -> EmailMessage:
    # policy.default gives str headers and get_body(); defects are recorded, not raised.
    parsed = BytesParser(policy=INBOUND).parsebytes(raw)
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
