"""Per-recipient personalisation: a member's own unsubscribe token, spliced into the bytes.

The rendered post carries render.PERSONAL_PLACEHOLDER; per recipient only that placeholder is
replaced, so personalising costs a bytes.replace, not a re-render.
"""

from __future__ import annotations

import hashlib
import hmac

from listd.distribute.render import PERSONAL_PLACEHOLDER

_PLACEHOLDER = PERSONAL_PLACEHOLDER.encode()
MAC_LENGTH = 16


class UnsubscribeTokens:
    """Signed tokens naming a member, for one-click unsubscribe URLs (RFC 8058)."""

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(secret.encode(), b"unsubscribe:", hashlib.sha256)

    def _mac(self, ident: str) -> str:
        h = self._keyed.copy()
        h.update(ident.encode())
        return h.hexdigest()[:MAC_LENGTH]

    def token(self, member_id: int) -> str:
        ident = format(member_id, "x")
        return f"{ident}-{self._mac(ident)}"

    def member_id(self, token: str) -> int | None:
        """The member a token names, or None if it is not one of ours."""
        ident, _, mac = token.strip().lower().partition("-")
        try:
            member_id = int(ident, 16)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(ident)):
            return None
        return member_id


def personalize(body: bytes, token: str) -> bytes:
    return body.replace(_PLACEHOLDER, token.encode())
