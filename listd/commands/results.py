"""What a command, or a confirmed action, came to: a status and a line for the reply."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    DONE = "done"
    # Waiting for a confirmation, or for an owner's approval.
    WAITING = "waiting"
    REFUSED = "refused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Result:
    status: Status
    # Already in the reply's language.
    text: str
    # The person who sent the mail was told by a mail of its own (a welcome, a goodbye), so a
    # reply to a confirmation need not repeat it.
    notified: bool = False
    # The command's answer is a confirmation request mailed to the sender (or one that already
    # waits): a reply saying so would only be a second mail, in the name of whoever forged it.
    confirmation: bool = False
