"""The one place where values copied from received mail become header values of ours.

A name, a subject or a Message-ID taken from a post or a command mail ends up in the Subject,
From, In-Reply-To and References of replies and notices. Read from an encoded word it may hold
CR, LF, NUL or other control characters (`=?utf-8?q?a=0Ab?=`), or run to megabytes; written
as it came it breaks the header (the email package refuses it) or adds headers of the sender's
choosing. Everything passes through here first: control characters become spaces, runs of
white space one space, the length is bounded, and a Message-ID that is not `<left@right>`
is dropped rather than repaired.
"""

from __future__ import annotations

import re

# Long enough for any real subject or name; far below the 998-octet line limit and the
# columns that keep such values (held_messages.subject).
MAX_TEXT = 200
MAX_NAME = 100
# RFC 5322 3.6.4 msg-id, dot-atom text on both sides (the obsolete forms are not copied).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_MSG_ID = re.compile(rf"<{_ATOM}@(?:{_ATOM}|\[[\x21-\x5a\x5e-\x7e]*\])>")
MAX_MESSAGE_ID = 250
# References keeps this many of the most recent ids, as RFC 5322 3.6.4 suggests trimming.
MAX_REFERENCES = 10
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def header_text(value: object, limit: int = MAX_TEXT) -> str:
    """VALUE as a single line of printable text, at most LIMIT characters."""
    text = " ".join(_CONTROLS.sub(" ", str(value or "")).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def display_name(value: object) -> str:
    """A person's name for a From or To of ours: one line, bounded."""
    return header_text(value, MAX_NAME)


def message_id(value: object) -> str | None:
    """The first valid `<id@domain>` in VALUE, or None: never a repaired or partial id."""
    ids = message_ids(value)
    return ids[0] if ids else None


def message_ids(value: object) -> list[str]:
    """Every valid msg-id in VALUE, in order (for References)."""
    found = _MSG_ID.findall(_CONTROLS.sub(" ", str(value or "")))
    return [one for one in found if len(one) <= MAX_MESSAGE_ID]


def references(value: object) -> str | None:
    """A References value built from VALUE's valid ids, the most recent MAX_REFERENCES."""
    ids = message_ids(value)[-MAX_REFERENCES:]
    return " ".join(ids) or None
