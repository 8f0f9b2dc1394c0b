"""VERP envelope senders: LIST-bounces+TOKEN@DOMAIN, where TOKEN names one queue entry.

The token is the entry's id in base 36 and a truncated HMAC of it, so a bounce names exactly
the member and post it is about, and nobody can forge one for another member.
"""

from __future__ import annotations

import hashlib
import hmac

MAC_LENGTH = 8
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
        if number == 0:
            return "".join(reversed(digits))


def _mac(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), b"verp:" + text.encode(), hashlib.sha256).digest()
    return _base36(int.from_bytes(digest[:6], "big")).rjust(MAC_LENGTH, "0")[-MAC_LENGTH:]


def verp_token(entry_id: int, secret: str) -> str:
    ident = _base36(entry_id)
    return f"{ident}-{_mac(secret, ident)}"


def decode_verp_token(token: str, secret: str) -> int | None:
    """The queue entry id the token was made for, or None if it was not made by us."""
    ident, _, mac = token.lower().partition("-")
    if not ident or not mac or any(c not in _DIGITS for c in ident):
        return None
    if not hmac.compare_digest(mac, _mac(secret, ident)):
        return None
    return int(ident, 36)


def verp_sender(list_name: str, domain: str, entry_id: int, secret: str) -> str:
    return f"{list_name}-bounces+{verp_token(entry_id, secret)}@{domain}"
