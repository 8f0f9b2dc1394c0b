"""Automatic replies (vacation / out-of-office, RFC 3834).

Only consulted after the bounce parsers found nothing: many MTAs also mark
their non-delivery reports ``Auto-Submitted: auto-replied``.
"""

from __future__ import annotations

import re
from email.message import Message

from listd.bounce import message as m

_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ _-]?(?:reply|response|antwort)|auto:|out of (?:the )?office"
    r"|vacation|away from|abwesenheit|r[ée]ponse automatique|absence|on leave|i am away"
    r"|automatisch|respuesta autom[aá]tica|risposta automatica|autosvar|autoreply)",
    re.IGNORECASE)
_VENDOR_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation",
                   "X-Mail-Autoreply")


def is_auto_reply(msg: Message) -> bool:
    auto = m.header(msg, "Auto-Submitted").lower()
    if auto.startswith("auto-replied"):
        return True
    if any(m.header(msg, h) for h in _VENDOR_HEADERS):
        return True
    if m.header(msg, "Precedence").lower() == "auto_reply":
        return True
    if m.header(msg, "X-Auto-Response-Suppress") and _SUBJECT.search(m.header(msg, "Subject")):
        return True
    return bool(_SUBJECT.search(m.header(msg, "Subject")))
