"""Mail that listd writes itself: replies, notices, confirmations, welcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email import message_from_bytes, policy
from email.contentmanager import _encode_text  # type: ignore[attr-defined]
from email.errors import MessageError
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy, compat32
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache

from listd import header_values
from listd.clock import utcnow


def compose(*, sender: str, to: str, subject: str, body: str, sender_name: str = "",
            auto_submitted: str = "auto-replied", in_reply_to: str | None = None,
            reply_to: str | None = None, headers: Mapping[str, str] | None = None,
            attachment: bytes | None = None) -> EmailMessage:
    """A plain-text message from listd; ATTACHMENT, if given, is attached as message/rfc822.

    Every header value goes through header_values, as parts of it may come from received
    mail (a subject in a notice's subject, the Message-ID answered)."""
    message = EmailMessage(policy=COMPOSING)
    name = header_values.display_name(sender_name)
    _set(message, "From", formataddr((name, sender)) if name else sender)
    _set(message, "To", header_values.header_text(to, limit=len(to) + 1))
    _set(message, "Subject", header_values.header_text(subject))
    _set(message, "Date", format_datetime(utcnow().replace(tzinfo=dt.UTC)))
    _set(message, "Message-ID", make_msgid(domain=sender.rpartition("@")[2] or None))
    # RFC 3834: tells vacation responders and other robots not to answer, which ends loops.
    _set(message, "Auto-Submitted", auto_submitted)
    _set(message, "Precedence", "bulk")
    answered = header_values.message_id(in_reply_to)
    if answered:
        _set(message, "In-Reply-To", answered)
        _set(message, "References", answered)
    if reply_to:
        _set(message, "Reply-To", header_values.header_text(reply_to))
    for field, value in (headers or {}).items():
        _set(message, field, header_values.header_text(value))
    _set_text(message, body)
    if attachment is not None:
        message.make_mixed()
        # A MIMEPart, not an EmailMessage, so the part gets no MIME-Version header of its own
        # (typeshed types attach() as taking the same class).
        message.attach(_rfc822_part(attachment))  # type: ignore[arg-type]
    return message


# Parsing a header value into its structured object is most of what composing a mail costs,
# and most values recur (the list's addresses, Precedence, the MIME headers, a recipient's
# address across its reply, confirmation and welcome): the objects are immutable, so they are
# kept and shared.
_header_object = lru_cache(maxsize=2048)(policy.default.header_factory)


class _KeptFolds(EmailPolicy):
    """policy.default, keeping the folded form of recurring header objects: refolding a value
    from its parse tree is most of writing a short mail out."""

    def fold_binary(self, name: str, value: str) -> bytes:
        if not hasattr(value, "name"):
            return super().fold_binary(name, value)
        key = (name, str(value), self.linesep, self.max_line_length, self.utf8, self.cte_type)
        folded = _FOLDED.get(key)
        if folded is None:
            if len(_FOLDED) >= 4096:
                _FOLDED.clear()
            folded = _FOLDED[key] = super().fold_binary(name, value)
        return folded


_FOLDED: dict[tuple[object, ...], bytes] = {}
COMPOSING = _KeptFolds()


def _set(message: EmailMessage, name: str, value: str) -> None:
    """message[NAME] = VALUE, as EmailMessage would store it (line breaks dropped)."""
    message[name] = _header_object(name, "".join(value.splitlines()))


def _set_text(message: EmailMessage, body: str) -> None:
    """message.set_content(BODY), the same headers and encoding, from kept header objects."""
    cte, payload = _encode_text(body, "utf-8", None, message.policy)
    _set(message, "Content-Type", 'text/plain; charset="utf-8"')
    message.set_payload(payload)
    _set(message, "Content-Transfer-Encoding", cte)
    _set(message, "MIME-Version", "1.0")


def _rfc822_part(raw: bytes) -> MIMEPart:
    # RFC 2046 5.2.1: message/rfc822 may not be base64-encoded (readers would not open it), so
    # the original goes in as itself, parsed leniently (compat32 keeps 8-bit bytes as they are).
    part = MIMEPart()
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
    part = MIMEPart()
    part.set_content(raw, maintype="application", subtype="octet-stream",
                     disposition="attachment", filename="original-message.eml")
    return part
