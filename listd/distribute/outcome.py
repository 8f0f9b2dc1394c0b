"""What happened to one recipient's delivery attempt, as the relay (or the Maildir) answered."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from listd.bounce.status import find_status


class SendStatus(enum.StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    response: str
    # The relay's reply code, when it gave one; a 5xx is a bounce of the recipient.
    code: int | None = None

    @property
    def enhanced_status(self) -> str | None:
        """The RFC 3463 code in the reply text (e.g. 5.1.1), if the relay gave one."""
        return find_status(self.response) if self.code is not None else None


def classify_reply(code: int, text: str) -> SendResult:
    status = SendStatus.SENT if code < 400 else (
        SendStatus.DEFERRED if code < 500 else SendStatus.FAILED)
    return SendResult(status, f"{code} {text}".strip(), code)


def deferred(reason: str) -> SendResult:
    """A failure with no answer from the relay (connection lost, timeout): try again later."""
    return SendResult(SendStatus.DEFERRED, reason)
