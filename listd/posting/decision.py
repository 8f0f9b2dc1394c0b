"""What the posting pipeline decides about a post, and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Decision(enum.StrEnum):
    ACCEPT = "accept"
    HOLD = "hold"
    # Not distributed, and the poster is told why.
    REJECT = "reject"
    # Not distributed, and nobody is told (recorded in the audit log all the same).
    DISCARD = "discard"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    # The stable name of the rule that decided ("accept" when no rule objected).
    rule: str
    # For people: shown to moderators with a held post, and to the poster with a rejection.
    reason: str


ACCEPTED = Verdict(Decision.ACCEPT, "accept", "no rule objected")
