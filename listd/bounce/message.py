"""Tolerant access to a raw message: parsing, decoded headers and text parts.

The stdlib ``email`` package does the MIME work; this module only wraps it so
that no malformed input (bad charsets, broken base64, wrong boundaries) can
raise out of the parser.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import re
from collections.abc import Iterator
from email.message import Message

_ADDR_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*"
)


# What the email package raises on hostile input (bad charsets, broken
# encodings, nonsense structure, IndexError in its header parser); callers turn
# these into "no value". TypeError, AttributeError and AssertionError are not
# here: they are programming errors, ours, and must reach the worker, which
# logs them with the traceback and shunts the mail visibly.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError, LookupError, UnicodeError, RecursionError, email.errors.MessageError)


def parse_bytes(raw: bytes) -> Message:
    """Parse bytes leniently; compat32 never raises on defects, it records them."""
    return email.message_from_bytes(raw or b"", policy=email.policy.compat32)


def parse_headers_text(text: str) -> Message:
    return email.message_from_string(text, policy=email.policy.compat32)


def header(msg: Message, name: str) -> str:
    """A header as readable text ('' when missing), with RFC 2047 words decoded."""
    try:
        value = msg.get(name)
    except PARSE_ERRORS:
        return ""
    if value is None:
        return ""
    value = str(value)
    try:
        parts = email.header.decode_header(value)
    except PARSE_ERRORS:
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return " ".join(" ".join(out).split())


def decode_bytes(data: bytes, charset: str | None) -> str:
    for cs in (charset, "utf-8"):
        if not cs:
            continue
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    # latin-1 maps every byte, so this is the never-fails last resort.
    return data.decode("latin-1")


def part_text(part: Message) -> str:
    """Decoded text of a non-multipart part; '' if it has none."""
    try:
        payload = part.get_payload(decode=True)
    except PARSE_ERRORS:
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            return raw
        if isinstance(raw, list):
            # message/* parts hold sub-messages; flatten them back to text.
            return "\n".join(_as_string(m) for m in raw if isinstance(m, Message))
        return ""
    try:
        charset = part.get_content_charset()
    except PARSE_ERRORS:
        charset = None
    return decode_bytes(payload, charset) if isinstance(payload, bytes) else str(payload)


def _as_string(msg: Message) -> str:
    try:
        return msg.as_string()
    except PARSE_ERRORS:
        try:
            return msg.as_bytes().decode("latin-1")
        except PARSE_ERRORS:
            return ""


def walk(msg: Message) -> Iterator[Message]:
    try:
        yield from msg.walk()
    except PARSE_ERRORS:
        return


def walk_top(msg: Message, depth: int = 0) -> Iterator[Message]:
    """Like walk(), but never into attached messages: a returned message may
    itself be a report, and its parts are not ours."""
    yield msg
    if depth > 8 or content_type(msg).startswith("message/"):
        return
    try:
        payload = msg.get_payload() if msg.is_multipart() else None
    except PARSE_ERRORS:
        return
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from walk_top(sub, depth + 1)


def content_type(part: Message) -> str:
    # Asked dozens of times a report of the same few parts, and each time the email package
    # scans the headers for Content-Type and splits it again: kept on the part. The parts
    # classified are parsed here (parse_bytes, attached_message) and never changed.
    found = part.__dict__.get(_CONTENT_TYPE)
    if found is None:
        try:
            found = part.get_content_type().lower()
        except PARSE_ERRORS:
            found = "text/plain"
        part.__dict__[_CONTENT_TYPE] = found
    return str(found)


_CONTENT_TYPE = "_listd_content_type"


def attached_message(part: Message) -> Message | None:
    """The message held by a message/rfc822 or text/rfc822-headers part."""
    ctype = content_type(part)
    if ctype in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str):
            return parse_headers_text(payload)
    if ctype in ("text/rfc822-headers", "text/rfc822-header", "message/rfc822-headers",
                 "message/global-headers"):
        return parse_headers_text(part_text(part))
    return None


def find_addresses(text: str) -> list[str]:
    return [_clean_address(a) for a in _ADDR_RE.findall(text or "")]


# "key=" prefixes that log-style lines glue to an address (Postfix "to=", qmail/Exim
# "recipient=", DSN-ish "orcpt="); an SRS address (SRS0=…) keeps its own "=".
_KEY_PREFIX = re.compile(
    r"^(?:(?:to|from|rcpt|rcpt_to|orcpt|recipient|original_recipient|final_recipient|address"
    r"|addr|email|mailbox|user|for)=|=+)", re.IGNORECASE)


def clean_address(addr: str) -> str:
    """ADDR as found in text, without the punctuation or "key=" glued to it."""
    return _KEY_PREFIX.sub("", addr.strip(".").strip("'"))


def _clean_address(addr: str) -> str:
    return clean_address(addr)


_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9\-]{1,59})", re.IGNORECASE)


def is_complete_address(addr: str) -> bool:
    """A whole, valid address: not cut by a line wrap ("ann@example.c"), not a bare host
    name ("ann@mailhost"), not the tail of a file path ("/var/mail/ann@example.com")."""
    local, _, domain = addr.rpartition("@")
    labels = domain.split(".")
    if not local or len(labels) < 2 or "" in labels or not _TLD.fullmatch(labels[-1]):
        return False
    return "/" not in local and not local.startswith(".")


def first_address(text: str) -> str | None:
    found = find_addresses(text)
    return found[0] if found else None
