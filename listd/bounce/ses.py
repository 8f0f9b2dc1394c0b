"""Amazon SES notifications delivered by email (SNS): a JSON document in the
body instead of a MIME report.  The format is AWS's published schema:
``notificationType``/``eventType`` Bounce, Complaint or Delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import Message

from listd.bounce import message as m


@dataclass(frozen=True, slots=True)
class SesRecipient:
    address: str
    action: str | None
    status: str | None
    diagnostic: str | None


@dataclass(frozen=True, slots=True)
class SesNotification:
    kind: str  # "bounce" | "complaint" | "delivery"
    bounce_type: str | None
    recipients: tuple[SesRecipient, ...]


def parse_notification(msg: Message) -> SesNotification | None:
    for part in m.walk_top(msg):
        if part.is_multipart() or not m.content_type(part).startswith(("text/", "application/")):
            continue
        doc = _load(m.part_text(part))
        if doc is not None:
            return _from_doc(doc)
    return None


def _load(text: str) -> dict[str, object] | None:
    start = text.find("{")
    if start < 0 or ("notificationType" not in text and "eventType" not in text):
        return None
    try:
        doc, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        # SNS mail bodies wrap lines; joining them restores the document.
        try:
            doc, _ = json.JSONDecoder().raw_decode("".join(text[start:].splitlines()))
        except ValueError:
            return None
    if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
        # The raw SNS envelope carries the notification as a string.
        try:
            doc = json.loads(doc["Message"])
        except ValueError:
            return None
    return doc if isinstance(doc, dict) else None


def _from_doc(doc: dict[str, object]) -> SesNotification | None:
    kind = str(doc.get("notificationType") or doc.get("eventType") or "").lower()
    if kind == "bounce":
        body = doc.get("bounce") or {}
        rows, key = (body.get("bouncedRecipients") if isinstance(body, dict) else None), "bounce"
    elif kind == "complaint":
        body = doc.get("complaint") or {}
        rows, key = (body.get("complainedRecipients") if isinstance(body, dict) else None), kind
    elif kind == "delivery":
        body = doc.get("delivery") or {}
        rows = [{"emailAddress": a} for a in (body.get("recipients") or [])
                ] if isinstance(body, dict) else None
        key = kind
    else:
        return None
    recips = []
    for row in rows or []:
        if isinstance(row, dict) and isinstance(row.get("emailAddress"), str):
            address = m.first_address(row["emailAddress"]) or row["emailAddress"]
            recips.append(SesRecipient(address, _str(row.get("action")), _str(row.get("status")),
                                       _str(row.get("diagnosticCode"))))
    bounce_type = _str(body.get("bounceType")) if isinstance(body, dict) else None
    return SesNotification(key, bounce_type, tuple(recips))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
