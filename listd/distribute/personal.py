"""Per-recipient personalisation: a member's own unsubscribe token, spliced into the bytes.

The rendered post carries render.PERSONAL_PLACEHOLDER; per recipient only that placeholder is
replaced, so personalising costs a bytes.replace, not a re-render. The token is the one-click
unsubscribe token of deliverability/unsubscribe.py, which the web endpoint accepts.
"""

from __future__ import annotations

from listd.deliverability.unsubscribe import UnsubscribeTokens
from listd.distribute.render import PERSONAL_PLACEHOLDER

__all__ = ["PLACEHOLDER", "UnsubscribeTokens", "personalize"]

PLACEHOLDER = PERSONAL_PLACEHOLDER.encode()


def personalize(body: bytes, token: str) -> bytes:
    return body.replace(PLACEHOLDER, token.encode())
