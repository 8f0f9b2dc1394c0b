"""Mail that listd writes itself: replies, notices, confirmations, welcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email import message_from_bytes
from email.errors import MessageError
from email.message import EmailMessage, MIMEPart
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid

from listd import header_values
from listd.clock import utcnow
from listd.processing.mail_policy import INBOUND


def compose(*, sender: str, to: str, subject: str, body: str, sender_name: str = "",
            auto_submitted: str = "auto-replied", in_reply_to: str | None = None,
            reply_to: str | None = None, headers: Mapping[str, str] | None = None,
            attachment: bytes | None = None) -> EmailMessage:
    """A plain-text message from listd; ATTACHMENT, if given, is attached as message/rfc822.

    Every header value goes through header_values, as parts of it may come from received
    mail (a subject in a notice's subject, the Message-ID answered)."""
    # policy.default's rules, its headers parsed and folded once (most are the same each time).
    message = EmailMessage(policy=INBOUND)
    name = header_values.display_name(sender_name)
    message["From"] = formataddr((name, sender)) if name else sender
    message["To"] = header_values.header_text(to, limit=len(to) + 1)
    message["Subject"] = header_values.header_text(subject)
    message["Date"] = format_datetime(utcnow().replace(tzinfo=dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # RFC 3834: tells vacation responders and other robots not to answer, which ends loops.
    message["Auto-Submitted"] = auto_submitted
    message["Precedence"] = "bulk"
    answered = header_values.message_id(in_reply_to)
    if answered:
        message["In-Reply-To"] = answered
        message["References"] = answered
    if reply_to:
        message["Reply-To"] = header_values.header_text(reply_to)
    for field, value in (headers or {}).items():
        message[field] = header_values.header_text(value)
    message.set_content(body)
    if attachment is not None:
        message.make_mixed()
        # A MIMEPart, not an EmailMessage, so the part gets no MIME-Version header of its own
        # (typeshed types attach() as taking the same class).
        message.attach(_rfc822_part(attachment))  # type: ignore[arg-type]
    return message


def _rfc822_part(raw: bytes) -> MIMEPart:
    # RFC 2046 5.2.1: message/rfc822 may not be base64-encoded (readers would not open it), so
    # the original goes in as itself, parsed leniently (compat32 keeps 8-bit bytes as they are).
    part = MIMEPart(policy=INBOUND)
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = "attachment"
    if not raw.isascii():
        part["Content-Transfer-Encoding"] = "8bit"
    try:
        part.set_payload([message_from_bytes(raw, policy=compat32)])
        part.as_bytes()
    except (ValueError, LookupError, UnicodeError, RecursionError, MessageError):
        # A message the email package cannot write out again (8-bit text in a multipart
        # without a boundary, nesting past the recursion limit) still reaches its reader,
        # as the bytes that came in.
        return _octet_part(raw)
    return part


def _octet_part(raw: bytes) -> MIMEPart:
    part = MIMEPart(policy=INBOUND)
    part.set_content(raw, maintype="application", subtype="octet-stream",
                     disposition="attachment", filename="original-message.eml")
    return part
