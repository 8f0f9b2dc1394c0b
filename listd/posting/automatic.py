"""Recognising mail that a program wrote rather than a person (RFC 3834 and its cousins).

Two strengths: a post is only treated as an auto-reply on explicit markers, since a person may
well write "Absence on Tuesday"; an answer to a moderation notice is refused on any sign at all,
since a vacation responder must never approve a post.
"""

from __future__ import annotations

from email.message import Message

from listd.bounce.autoreply import is_auto_reply
from listd.bounce.message import PARSE_ERRORS

VENDOR_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation",
                  "X-Mail-Autoreply")


def header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return str(value).strip() if value is not None else ""
    except PARSE_ERRORS:
        return ""


def auto_submitted(message: Message) -> str:
    """The Auto-Submitted keyword, lowercased; '' when absent (which means 'no')."""
    return header(message, "Auto-Submitted").split(";")[0].strip().lower()


def is_marked_auto_reply(message: Message) -> bool:
    if auto_submitted(message).startswith("auto-replied"):
        return True
    if any(header(message, name) for name in VENDOR_HEADERS):
        return True
    return header(message, "Precedence").lower() == "auto_reply"


def is_automatic_answer(envelope_sender: str, message: Message) -> bool:
    if not envelope_sender:
        return True  # the null sender: a bounce or another report
    if auto_submitted(message) not in ("", "no"):
        return True
    if header(message, "Precedence").lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    try:
        return is_auto_reply(message)
    except PARSE_ERRORS:
        return True
