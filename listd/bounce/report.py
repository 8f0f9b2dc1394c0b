"""Typed values produced by the bounce parser.

Everything here is immutable so a report can be cached, hashed, or handed to
other threads without defensive copies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Category(enum.Enum):
    """What kind of automatic (or not) message we were given."""

    BOUNCE = "bounce"
    DELAY = "delay"
    AUTO_REPLY = "auto_reply"
    COMPLAINT = "complaint"
    DELIVERED = "delivered"
    OTHER = "other"


class Kind(enum.Enum):
    """Whether a failure says the address itself is dead (HARD) or not (SOFT)."""

    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    """One recipient the report says could not be delivered to (``action``
    "failed"), or for a delay notice, not delivered yet (``action`` "delayed")."""

    address: str
    status: str | None = None
    reason: str | None = None
    kind: Kind | None = None
    diagnostic: str | None = None
    action: str | None = None
    original_address: str | None = None


@dataclass(frozen=True, slots=True)
class BounceReport:
    """The parsed meaning of one message."""

    category: Category
    recipients: tuple[FailedRecipient, ...] = ()
    complainants: tuple[str, ...] = ()
    feedback_type: str | None = None
    # Addresses the report mentions that are not in ``recipients`` (delivered,
    # or delayed ones in a report that also has failures).
    other_recipients: tuple[str, ...] = ()
    # The envelope senders the returned copy had (report fields, its Return-Path): a VERP
    # address among them proves whose copy it was when the report itself came without one.
    returned_senders: tuple[str, ...] = ()

    @property
    def is_bounce(self) -> bool:
        """A non-delivery report: a failure, or a delay notice still retrying.

        This is the benchmark's and the JSON contract's meaning.  Use
        :attr:`is_failure` (or ``category``) to act on failures only.
        """
        return self.category in (Category.BOUNCE, Category.DELAY)

    @property
    def is_failure(self) -> bool:
        """Delivery to ``recipients`` failed (a delay is not a failure)."""
        return self.category is Category.BOUNCE


def report_json(report: BounceReport) -> dict[str, object]:
    """Render a report as the stable JSON contract used by the CLI and scorer."""
    return {
        "is_bounce": report.is_bounce,
        "category": report.category.value,
        "recipients": [
            {
                "address": r.address,
                "status": r.status,
                "kind": r.kind.value if r.kind else None,
                "reason": r.reason,
                "action": r.action,
                "diagnostic": r.diagnostic,
            }
            for r in report.recipients
        ],
        "complainants": list(report.complainants),
    }
