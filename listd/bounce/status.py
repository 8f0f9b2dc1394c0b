"""Enhanced status codes (RFC 3463) and SMTP reply codes: finding them in text,
and what a code alone says about the reason and the kind of a failure.
"""

from __future__ import annotations

import re

# An enhanced code is class.subject.detail; the look-arounds keep us from
# reading one out of an IP address or a version number.
_STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_REPLY_RE = re.compile(r"(?<![\d.\-:/])([245][0-5]\d)(?=[ \-](?!\d)|$)", re.MULTILINE)

# Reasons that mean the address itself is dead (as severity.HARD_REASONS).
_HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})

# Subject.detail -> reason, only where RFC 3463 / RFC 7372 / RFC 7505 give the
# code a single meaning.  Generic codes (x.0.0, x.5.0, x.7.1, ...) are left to
# the wording because servers use them for anything.
_BY_DETAIL: dict[str, str] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    "1.10": "notaccept",
    "2.1": "userunknown",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "3.1": "systemfull",
    "3.4": "mesgtoobig",
    "4.4": "hostunknown",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.3": "toomanyconn",
    "6.0": "contenterror",
    "7.8": "securityerror",
    "7.9": "securityerror",
    "7.13": "suspend",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "notaccept",
}


def find_status(text: str) -> str | None:
    """The most specific enhanced status code in ``text``, if any."""
    codes = find_statuses(text)
    if not codes:
        return None
    specific = [c for c in codes if not is_generic(c)]
    return specific[0] if specific else codes[0]


_PAIRED_RE = re.compile(r"(?<![\d.])[245]\d\d[ \-]['\"(]?([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")


def find_replied_status(text: str) -> str | None:
    """The enhanced code a server sent with its reply code ("550 5.1.1").

    When a report quotes several replies (a relay quoting the remote
    server), the last one is the innermost: the server that refused.
    """
    found = [".".join(mt.groups()) for mt in _PAIRED_RE.finditer(text or "")]
    return found[-1] if found else None


def find_statuses(text: str) -> list[str]:
    return [".".join(m.groups()) for m in _STATUS_RE.finditer(text or "")]


def find_reply_code(text: str) -> str | None:
    m = _REPLY_RE.search(text or "")
    return m.group(1) if m else None


def is_generic(status: str) -> bool:
    return status.endswith(".0.0")


def valid_status(value: str | None) -> str | None:
    """Normalise a DSN Status field value to 'c.s.d', or None."""
    if not value:
        return None
    m = _STATUS_RE.search(value)
    return ".".join(m.groups()) if m else None


def status_from_reply(reply: str | None) -> str | None:
    """RFC 3463's class-only code for an SMTP reply: 4xx -> 4.0.0, 5xx -> 5.0.0."""
    if reply and reply[0] in "45":
        return f"{reply[0]}.0.0"
    return None


def reason_from_status(status: str | None) -> str | None:
    if not status:
        return None
    cls, _, rest = status.partition(".")
    reason = _BY_DETAIL.get(rest)
    if cls != "5" and reason in _HARD_REASONS:
        # A temporary failure cannot prove the address is dead.
        return None
    return reason
