"""Can listd read this message, and write it out again? A pure check, before any handler.

The email package records most defects and goes on, but some input still makes it raise,
later, wherever the message is touched: an IndexError reading `Message-ID: <>`, a header defect
raised when DMARC mitigation rebuilds a From: that names no address, a ValueError adding a
footer to a multipart without a boundary, a UnicodeEncodeError writing out its 8-bit text, a
RecursionError past a few hundred levels of nesting. Rather than guard each place, the
message is read here once the way the handlers will read it: every header, the author, the
MIME structure, and a full write-out. What fails is named, for the person who has to act.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email import errors
from email.message import EmailMessage, Message

from listd.distribute.render import WRITE_POLICY

# What reading or writing hostile input makes the email package raise.
READ_ERRORS: tuple[type[Exception], ...] = (
    ValueError, LookupError, UnicodeError, RecursionError, TypeError, AttributeError,
    AssertionError, errors.MessageError)


@dataclass(frozen=True)
class Unreadable:
    """What listd could not read in a message, in words for its sender or the moderators."""

    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}"


Check = Callable[[EmailMessage], "Unreadable | None"]
# What a RecursionError in the email package means, wherever it is met.
TOO_DEEP = Unreadable("the MIME structure", "its parts are nested too deeply to read")


def unreadable(parse: Callable[[], EmailMessage], checks: Sequence[Check]) -> Unreadable | None:
    """The first thing in the message PARSE returns that CHECKS find unreadable, or None."""
    try:
        message = parse()
    except RecursionError:
        return TOO_DEEP
    except READ_ERRORS as exc:
        return Unreadable("the message", _described(exc))
    for check in checks:
        found = check(message)
        if found is not None:
            return found
    return None


def _headers(message: EmailMessage) -> Unreadable | None:
    for name in dict.fromkeys(message.keys()):
        try:
            [str(value) for value in message.get_all(name, [])]
        except READ_ERRORS as exc:
            return Unreadable(f"the {name} header", _described(exc))
    return None


def _author(message: EmailMessage) -> Unreadable | None:
    value = message.get("From")
    if value is None:
        return Unreadable("the From header", "there is none")
    addresses = getattr(value, "addresses", ())
    if not addresses or not all(a.username and a.domain for a in addresses):
        return Unreadable("the From header", f"it names no complete address ({_shown(value)})")
    if any(isinstance(d, errors.InvalidHeaderDefect) for d in getattr(value, "defects", ())):
        return Unreadable("the From header",
                          f"it is not a well-formed address ({_shown(value)})")
    if not all(_is_utf8(a.display_name + a.addr_spec) for a in addresses):
        return Unreadable("the From header", f"it is not valid UTF-8 ({_shown(value)})")
    return None


def _structure(message: EmailMessage) -> Unreadable | None:
    for part in _parts(message):
        if part.get_content_maintype() == "multipart" and \
                (not part.is_multipart() or part.get_boundary() is None):
            return Unreadable("the MIME structure",
                              f"a {part.get_content_type()} part has no boundary")
    return None


def _written_out(message: EmailMessage) -> Unreadable | None:
    try:
        message.as_bytes(policy=WRITE_POLICY)
    except RecursionError:
        return Unreadable("the MIME structure", "its parts are nested too deeply to write out")
    except READ_ERRORS as exc:
        return Unreadable("the message", f"it cannot be written out again: {_described(exc)}")
    return None


def _parts(message: Message) -> Iterator[Message]:
    try:
        yield from message.walk()
    except RecursionError:
        return


def _is_utf8(text: str) -> bool:
    # The email package keeps raw 8-bit bytes of a header as lone surrogates: valid UTF-8
    # (SMTPUTF8 mail, a raw "Jörg") decodes back, anything else cannot be written out again.
    try:
        text.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        return False
    return True


def _shown(value: object) -> str:
    return repr(" ".join(str(value).split())[:80])


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__} ({' '.join(str(exc).split())[:200] or 'no detail'})"


# A post is rewritten and resent: its author is rebuilt by DMARC mitigation and the whole is
# written out again. A command mail or a report is only read, and its From: may well be
# `MAILER-DAEMON` with no domain: the envelope sender stands in for it.
FOR_POSTS: tuple[Check, ...] = (_headers, _author, _structure, _written_out)
FOR_READING: tuple[Check, ...] = (_headers, _structure)
