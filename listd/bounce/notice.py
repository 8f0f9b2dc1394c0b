"""The human-readable notice of a report, separated from the returned copy
of the original message."""

from __future__ import annotations

import re
from email.message import Message

from listd.bounce import dsn
from listd.bounce import message as m

# Lines that introduce the returned message in plain-text reports (qmail,
# Exim, Gmail, Sendmail, Exchange, Notes, ...): a dashed rule or an explicit
# "follows"/"below" announcing the copy.
_SEPARATOR = re.compile(
    r"^\s*(?:[-=_*~+#|]{2,}.*(?:original|unsent|returned|undelivered|copy of|your message"
    r"|message (?:text|body|headers?)|rfc ?822|headers? of|included message)"
    r"|(?:.{0,40}\b(?:original|unsent|returned|undelivered) (?:message|mail|e-?mail)"
    r"(?: headers?)? (?:follows|below|is (?:attached|included|below))\b)"
    r"|below this line is a copy|this is a copy of (?:the|your) message"
    r"|original message headers?:?\s*$|header of the original message"
    r"|(?:[-=]{2,}\s*)?(?:original message|message original|mensaje original)\s*[-=]*\s*$)",
    re.IGNORECASE)
# Headers that only a returned message (not a notice) starts with.
_ORIGINAL_HEAD = re.compile(
    r"^(?:Return-Path|Received|DKIM-Signature|Message-I[Dd]|Delivered-To|X-Original-To"
    r"|MIME-Version|ARC-Seal|Authentication-Results):[ \t]", re.IGNORECASE)
_ANY_HEAD = re.compile(r"^[A-Za-z][A-Za-z0-9\-]*:[ \t]|^[ \t]+\S")

_NON_NOTICE_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers",
                     "text/rfc822-header", "message/rfc822-headers",
                     "message/delivery-status", "message/global-delivery-status",
                     "message/feedback-report", "message/global-headers")


def notice_parts(msg: Message) -> list[Message]:
    """Text parts of the report itself, not descending into attachments."""
    found: list[Message] = []
    _collect(msg, found, depth=0)
    plain = [p for p in found if m.content_type(p) != "text/html"]
    return plain or found


def _collect(part: Message, out: list[Message], depth: int) -> None:
    if depth > 8:
        return
    ctype = m.content_type(part)
    if ctype in _NON_NOTICE_TYPES:
        return
    if part.is_multipart():
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    _collect(sub, out, depth + 1)
        return
    # A multipart whose boundary could not be found is kept as plain text, so
    # broken MIME still gets read.
    if ctype.startswith(("text/", "multipart/")) or ctype == "message/partial" or depth == 0:
        disposition = str(part.get("Content-Disposition", "")).lower()
        if "attachment" in disposition and ctype != "text/plain" and depth:
            return
        out.append(part)


_TAG_RE = re.compile(r"<(?:br|p|div|tr|li|h\d)[^>]*>", re.IGNORECASE)
_ANY_TAG_RE = re.compile(r"<[^>]{0,400}>")


def html_to_text(html: str) -> str:
    import html as html_mod

    text = _TAG_RE.sub("\n", html)
    text = re.sub(r"<(?:style|script)[^>]*>.*?</(?:style|script)>", "", text,
                  flags=re.IGNORECASE | re.DOTALL)
    # Keep <addr@host> forms: only strip tags that aren't bare addresses.
    text = _ANY_TAG_RE.sub(lambda t: t.group(0) if "@" in t.group(0) and " " not in
                           t.group(0) else " ", text)
    return html_mod.unescape(text)


def split_notice(text: str) -> tuple[str, str]:
    """(notice, returned-message text) of a plain-text report."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if _SEPARATOR.search(line):
            return "\n".join(lines[:i]), "\n".join(lines[i + 1:])
        if _ORIGINAL_HEAD.match(line) and i + 1 < len(lines) and _ANY_HEAD.match(lines[i + 1]):
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return text, ""


def notice_text(msg: Message) -> tuple[str, str]:
    """(notice text, inline returned message text) of a report."""
    notices: list[str] = []
    returned: list[str] = []
    for part in notice_parts(msg):
        text = m.part_text(part)
        if m.content_type(part) == "text/html":
            text = html_to_text(text)
        notice, rest = split_notice(text)
        notices.append(notice)
        if rest:
            returned.append(rest)
    return "\n".join(notices), "\n".join(returned)


def original_headers(msg: Message, inline: str) -> Message | None:
    """The returned original message (often headers only), attached or inline."""
    for part in m.walk_top(msg):
        if part is msg:
            continue
        inner = m.attached_message(part)
        if inner is not None:
            return inner
    if inline.strip():
        head = inline.lstrip("\n")
        return m.parse_headers_text(head)
    return None


# Report fields that name the returned copy's envelope sender: ARF's (RFC 5965 3.2) and
# Postfix's per-message DSN field.
_SENDER_FIELDS = ("original-mail-from", "x-postfix-sender")
_REPORT_PARTS = ("message/feedback-report", "message/delivery-status",
                 "message/global-delivery-status")


def returned_envelope_senders(msg: Message) -> tuple[str, ...]:
    """The envelope senders the report shows its returned copy had (lowercase, in order).

    They come from the report's own fields and from the Return-Path the receiving side
    wrote into the copy; for a copy listd sent, that is its VERP address.
    """
    found: list[str] = []
    for part in m.walk_top(msg):
        if m.content_type(part) in _REPORT_PARTS:
            for block in dsn.parse_fields(dsn.part_fields_text(part)):
                for field in _SENDER_FIELDS:
                    found += m.find_addresses(block.get(field, ""))
    _, inline = notice_text(msg)
    original = original_headers(msg, inline)
    if original is not None:
        for value in original.get_all("Return-Path") or ():
            found += m.find_addresses(str(value))
    return tuple(dict.fromkeys(a.lower() for a in found))
