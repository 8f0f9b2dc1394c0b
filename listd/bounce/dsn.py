"""RFC 3464 delivery status notifications: the machine-readable per-recipient
fields (Final-/Original-Recipient, Action, Status, Diagnostic-Code).

The fields are read from text rather than from the parsed sub-messages so the
same code also reads the DSN-style blocks some MTAs put in text/plain parts.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email.message import Message

from listd.bounce import message as m

_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9\-]*)[ \t]*:[ \t]*(.*)$")
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")


@dataclass(frozen=True, slots=True)
class DsnRecipient:
    address: str
    original: str | None
    action: str | None
    status: str | None
    diagnostic: str | None
    remote_mta: str | None


def delivery_status_texts(msg: Message) -> list[str]:
    """The text of every message/delivery-status part (RFC 6533 global too)."""
    texts = []
    for part in m.walk_top(msg):
        if m.content_type(part) in ("message/delivery-status", "message/global-delivery-status"):
            texts.append(part_fields_text(part))
    return texts


def part_fields_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        # compat32 already split the body into header blocks; rebuilding the
        # text from them is much cheaper than serialising each block.
        text = "\n\n".join(
            "\n".join(f"{k}: {v}" for k, v in block.items()) + "\n" + _str_payload(block)
            for block in payload if isinstance(block, Message))
    else:
        text = m.part_text(part)
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    # compat32 splits delivery-status bodies into header blocks before any
    # transfer decoding, so encoded bodies have to be decoded by hand here.
    if cte == "base64":
        try:
            raw = base64.b64decode("".join(text.split()), validate=False)
            return m.decode_bytes(raw, None)
        except (binascii.Error, ValueError):
            return text
    if cte == "quoted-printable":
        import quopri

        return m.decode_bytes(quopri.decodestring(text.encode("latin-1", "replace")), None)
    return text


def _str_payload(block: Message) -> str:
    body = block.get_payload()
    return body if isinstance(body, str) else ""


def parse_fields(text: str) -> list[dict[str, str]]:
    """Split DSN text into blocks of (lower-cased) field -> value, unfolding
    continuation lines."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
            continue
        if line[0] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        fm = _FIELD_RE.match(line)
        if not fm:
            last = None
            continue
        name = fm.group(1).lower()
        if name in current and name in (*_RECIPIENT_FIELDS, "action", "status"):
            # A second recipient without a blank line between the blocks.
            blocks.append(current)
            current = {}
        current[name] = fm.group(2).strip()
        last = name
    if current:
        blocks.append(current)
    return blocks


_INLINE_RE = re.compile(r"^(?:final|original)-recipient:", re.IGNORECASE | re.MULTILINE)
_INLINE_ACTION_RE = re.compile(r"^(?:action|status):", re.IGNORECASE | re.MULTILINE)


def has_inline_fields(text: str) -> bool:
    return bool(_INLINE_RE.search(text) and _INLINE_ACTION_RE.search(text))


def recipients(text: str) -> list[DsnRecipient]:
    out = []
    for block in parse_fields(text):
        address = _address(block.get("final-recipient")) or _address(
            block.get("x-actual-recipient")) or _address(block.get("original-recipient"))
        if not address:
            continue
        out.append(DsnRecipient(
            address=address,
            original=_address(block.get("original-recipient")),
            action=(block.get("action") or "").split()[0].lower().rstrip(";") or None
            if block.get("action") else None,
            status=block.get("status"),
            diagnostic=_strip_type(block.get("diagnostic-code")),
            remote_mta=_strip_type(block.get("remote-mta")),
        ))
    return out


def _address(value: str | None) -> str | None:
    if not value:
        return None
    _, _, rest = value.rpartition(";")
    return m.first_address(rest or value)


def _strip_type(value: str | None) -> str | None:
    """Drop the 'smtp;' / 'X-Postfix;' type prefix of a DSN field."""
    if not value:
        return None
    head, sep, rest = value.partition(";")
    if sep and " " not in head.strip():
        value = rest
    return value.strip() or None
