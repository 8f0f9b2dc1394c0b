"""When a handler raises: the mail's fault, or ours? Each ends in an outcome someone sees.

The email package raises on some hostile input that the readability check (readability.py)
did not foresee. Such an exception, raised inside the email package (or a RecursionError), is
the mail's fault: the mail gets the outcome of an unreadable one (malformed.py). Anything else
is ours. A programming error (TypeError, AttributeError, AssertionError, …) gives the same
result however often it is retried, so the mail is shunted at once; other failures (the
database, the disk) may pass, and are retried with back-off before the mail is shunted. A
shunted mail is kept, logged with its traceback, listed by `listd inbound ls --failed`, and
the list's owners (the listmasters for mail to no list) are told once, by mail.
"""

from __future__ import annotations

import datetime as dt
import email
import enum
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from listd.models import InboundMessage
from listd.processing.delivery import Delivery, Outcome
from listd.processing.malformed import handle_unreadable
from listd.processing.readability import TOO_DEEP, Unreadable
from listd.processing.shunt import shunt
from listd.runtime import Runtime

log = logging.getLogger("listd.processing")

MAX_ATTEMPTS = 5
PROGRAMMING_ERRORS: tuple[type[Exception], ...] = (
    TypeError, AttributeError, AssertionError, NameError, KeyError, NotImplementedError)
_EMAIL_PACKAGE = Path(email.__file__).resolve().parent


class Fault(enum.StrEnum):
    INPUT = "input"            # the mail's: it gets the outcome of an unreadable mail
    PROGRAMMING = "programming"  # ours, and retrying cannot help: shunted at once
    TRANSIENT = "transient"    # ours, and it may pass: retried, then shunted


def fault_of(exc: BaseException) -> Fault:
    if isinstance(exc, RecursionError) or _raised_in_email_package(exc):
        return Fault.INPUT
    if isinstance(exc, PROGRAMMING_ERRORS):
        return Fault.PROGRAMMING
    return Fault.TRANSIENT


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def after_failure(session: Session, runtime: Runtime, row: InboundMessage, exc: Exception,
                  now: dt.datetime, delivery_of: Callable[[], Delivery]) -> Outcome:
    """The outcome of ROW after its handler raised EXC (its work already rolled back)."""
    fault = fault_of(exc)
    if fault is Fault.INPUT:
        log.warning("queue_id=%d the email package failed on this mail; handled as "
                    "unreadable", row.id, exc_info=exc)
        outcome = _as_unreadable(session, runtime, exc, delivery_of)
        if outcome is not None:
            row.state, row.outcome, row.processed_at = outcome.state, outcome.summary, now
            return outcome
    else:
        log.error("queue_id=%d processing failed (attempt %d, %s error)", row.id,
                  row.attempts, fault.value, exc_info=exc)
    error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:1000]
    if fault is Fault.TRANSIENT and row.attempts < MAX_ATTEMPTS:
        row.outcome = f"error (attempt {row.attempts}, retried): {error}"
        row.next_attempt_at = now + retry_delay(row.attempts)
        return Outcome(row.outcome, row.state)
    return shunt(session, runtime, row, error, now)


def _as_unreadable(session: Session, runtime: Runtime, exc: Exception,
                   delivery_of: Callable[[], Delivery]) -> Outcome | None:
    problem = TOO_DEEP if isinstance(exc, RecursionError) else Unreadable(
        "the message", f"it could not be processed: {type(exc).__name__} "
                       f"({' '.join(str(exc).split())[:200]})")
    try:
        with session.begin_nested():
            return handle_unreadable(session, runtime, delivery_of(), problem)
    except Exception:
        log.exception("handling an unreadable mail failed too")
        return None


def _raised_in_email_package(exc: BaseException) -> bool:
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_EMAIL_PACKAGE)

