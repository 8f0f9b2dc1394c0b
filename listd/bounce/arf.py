"""Abuse / spam complaints: RFC 5965 feedback reports (ARF) and the older
"forward the complained-about message" style feedback loops."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from listd.bounce import dsn
from listd.bounce import message as m

# Feedback loops that predate ARF still say what they are in the subject.
_FBL_SUBJECT = re.compile(
    r"complaint about message|abuse report|spam (?:complaint|report)|feedback loop"
    r"|scomp|fbl report", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Complaint:
    feedback_type: str | None
    complainants: tuple[str, ...]


def parse_complaint(msg: Message) -> Complaint | None:
    report_type = (msg.get_param("report-type", header="content-type") or "")
    if isinstance(report_type, tuple):
        report_type = report_type[2]
    feedback_part = next((p for p in m.walk_top(msg)
                          if m.content_type(p) == "message/feedback-report"), None)
    is_arf = feedback_part is not None or str(report_type).lower() == "feedback-report"
    if not is_arf and not _FBL_SUBJECT.search(m.header(msg, "Subject")):
        return None
    if not is_arf and _attached(msg) is None:
        return None
    fields: dict[str, str] = {}
    if feedback_part is not None:
        for block in dsn.parse_fields(dsn.part_fields_text(feedback_part)):
            fields.update(block)
    addrs = [a for key in ("original-rcpt-to", "removal-recipient")
             for a in m.find_addresses(fields.get(key, ""))]
    if not addrs:
        original = _attached(msg)
        if original is not None:
            addrs = m.find_addresses(m.header(original, "To"))
    feedback_type = fields.get("feedback-type", "").strip().lower() or None
    return Complaint(feedback_type, tuple(dict.fromkeys(addrs)))


def _attached(msg: Message) -> Message | None:
    for part in m.walk(msg):
        if part is msg:
            continue
        inner = m.attached_message(part)
        if inner is not None:
            return inner
    return None
