"""Bounce-report parsing and classification for listd (pure: bytes in, values out).

Public API (stable; ``listd bounce classify [FILE]`` is wired to it)::

    from listd.bounce import classify_message, report_json
    report = classify_message(raw_bytes)      # -> BounceReport, never raises
    report_json(report)                       # -> {"is_bounce": bool, "recipients": [...]}

``BounceReport`` (frozen): ``category`` (:class:`Category`), ``is_bounce``,
``recipients`` (tuple of :class:`FailedRecipient`: ``address``, ``status``,
``reason``, ``kind`` (:class:`Kind` HARD/SOFT), ``diagnostic``, ``action``,
``original_address``), ``complainants`` and ``feedback_type`` for ARF
complaints, ``other_recipients`` for delayed/delivered addresses.

Command line: ``python -m listd.bounce [FILE]`` prints one JSON object for a
message read from FILE or stdin; ``python -m listd.bounce --dir DIR`` prints
one JSON line per ``*.eml`` file in DIR with an added ``"file"`` key.
"""

from listd.bounce.classify import classify_message, classify_reply
from listd.bounce.report import (
           BounceReport,
           Category,
           FailedRecipient,
           Kind,
           report_json,
)

__all__ = ["BounceReport", "Category", "FailedRecipient", "Kind", "classify_message",
           "classify_reply", "report_json"]
