"""Mail that listd writes itself: replies, notices, confirmations, welcomes."""

from __future__ import annotations

import binascii
import datetime as dt
import re
from collections.abc import Mapping
from email import message_from_bytes, quoprimime
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


def compose_bytes(*, sender: str, to: str, subject: str, body: str,
                  auto_submitted: str = "auto-replied", in_reply_to: str | None = None,
                  reply_to: str | None = None, headers: Mapping[str, str] | None = None,
                  message_id: str | None = None) -> bytes:
    """`compose(…).as_bytes()`, MESSAGE_ID (if given) in place of the one compose makes.

    The robot's mail is nearly always plain (plain_mail): written directly, at a fraction of
    the cost. Anything else goes through the email package."""
    message_id = message_id or make_msgid(domain=sender.rpartition("@")[2] or None)
    plain = plain_mail(sender=sender, to=to, subject=subject, body=body,
                       auto_submitted=auto_submitted, in_reply_to=in_reply_to,
                       reply_to=reply_to, headers=headers, message_id=message_id)
    if plain is not None:
        return plain
    message = compose(sender=sender, to=to, subject=subject, body=body,
                      auto_submitted=auto_submitted, in_reply_to=in_reply_to,
                      reply_to=reply_to, headers=headers)
    message.replace_header("Message-ID", message_id)
    return message.as_bytes()


def plain_mail(*, sender: str, to: str, subject: str, body: str, auto_submitted: str,
               in_reply_to: str | None, reply_to: str | None,
               headers: Mapping[str, str] | None, message_id: str) -> bytes | None:
    """compose()'s mail as the email package writes it, byte for byte (tests/test_compose.py
    compares them), or None unless it is plain: bare addresses, header texts of ASCII words,
    an ASCII body of lines the package leaves as they are. The package parses every header
    it is given and folds it again, which costs ten times more."""
    text = header_values.header_text
    answered = header_values.message_id(in_reply_to)
    fields = [("From", sender), ("To", text(to, limit=len(to) + 1)), ("Subject", text(subject)),
              ("Date", format_datetime(utcnow().replace(tzinfo=dt.UTC))),
              ("Message-ID", message_id), ("Auto-Submitted", auto_submitted),
              ("Precedence", "bulk")]
    if answered:
        fields += [("In-Reply-To", answered), ("References", answered)]
    if reply_to:
        fields.append(("Reply-To", text(reply_to)))
    fields += [(field, text(value)) for field, value in (headers or {}).items()]
    return _plain(fields, body)


# What the email package writes out unchanged, as given. Never "=?" (it would read an
# encoded word) nor a control character.
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*"
                      r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_ADDRESSES = re.compile(rf"{_ADDRESS.pattern}(?:, {_ADDRESS.pattern})*")
_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*")
_ADDRESS_FIELDS = frozenset({"From", "To", "Reply-To"})
# policy.default's line length.
MAX_LINE = 78


def _plain(fields: list[tuple[str, str]], body: str) -> bytes | None:
    """FIELDS and BODY written as the email package would, or None unless they are plain."""
    lines = [_plain_field(name, value) for name, value in fields]
    encoded = _plain_body(body)
    if None in lines or encoded is None:
        return None
    head = "\n".join(line for line in lines if line is not None)
    cte, data = encoded
    return (f'{head}\nContent-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: '
            f"{cte}\nMIME-Version: 1.0\n\n{data}").encode("ascii")


def _plain_body(body: str) -> tuple[str, str] | None:
    """An ASCII BODY's transfer encoding and text, as set_content() chooses them for
    policy.default (email.contentmanager): 7bit when every line fits, else quoted-printable
    unless base64 would be shorter (then None: not plain)."""
    if not body.isascii():
        return None
    lines = body.encode("ascii").splitlines()
    text = "\n".join(line.decode("ascii") for line in lines) + "\n"
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        return "7bit", text
    # The package's sniff: the first ten lines, each way.
    sniffed = "\n".join(line.decode("ascii") for line in lines[:10]) + "\n"
    sniff_qp = quoprimime.body_encode(sniffed, MAX_LINE)
    if len(sniff_qp) > len(binascii.b2a_base64(sniffed.encode("ascii"))):
        return None
    return "quoted-printable", sniff_qp if len(lines) <= 10 else \
        quoprimime.body_encode(text, MAX_LINE)


def _plain_field(name: str, value: str) -> str | None:
    """NAME: VALUE as one header, folded as the email package folds it; None if not plain."""
    line = f"{name}: {value}"
    if name in _ADDRESS_FIELDS:
        plain = _ADDRESSES.fullmatch(value) is not None
        return line if plain and len(line) <= MAX_LINE else None
    if _WORDS.fullmatch(value) is None or "=?" in value:
        return None
    if len(line) <= MAX_LINE:
        return line
    if 1 + len(value) <= MAX_LINE:
        return f"{name}:\n {value}"  # the whole value, on the next line alone
    return _folded_words(f"{name}:", value.split(" "))


def _folded_words(start: str, words: list[str]) -> str | None:
    """Text too long for a line folded at spaces, each line as full as it can be: the email
    package's rule for words that each fit on a line (a longer word it would encode)."""
    lines = [start]
    for word in words:
        if len(lines[-1]) + 1 + len(word) <= MAX_LINE:
            lines[-1] += " " + word
        elif 1 + len(word) <= MAX_LINE:
            lines.append(" " + word)
        else:
            return None
    return "\n".join(lines)


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
