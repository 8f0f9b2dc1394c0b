"""One-click unsubscribe tokens (RFC 8058): per list and recipient, signed, short.

Distribution puts on every list mail, per recipient (render.py writes a placeholder, and
delivery splices each recipient's token in, see distribute/personal.py):

    List-Unsubscribe: <{base_url}/unsubscribe/{token}>, <mailto:LIST-leave@DOMAIN>
    List-Unsubscribe-Post: List-Unsubscribe=One-Click

A token is the list id and the address, authenticated with an HMAC of the site secret: no
table to fill at fan-out time, and nobody can make one for someone else's address. It stays
valid while that address is subscribed; once used, it has nothing left to do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

# 128 bits: unguessable, and the token stays short enough for a folded header line.
MAC_BYTES = 16
PURPOSE = b"listd one-click unsubscribe v1"


@dataclass(frozen=True)
class UnsubscribeClaim:
    list_id: int
    address: str


class UnsubscribeTokens:
    """Makes tokens with one secret; its derived key is computed once, since a fan-out makes
    one token per recipient."""

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(_derived_key(secret), digestmod=hashlib.sha256)

    def token(self, list_id: int, address: str) -> str:
        payload = _varint(list_id) + address.strip().lower().encode("utf-8")
        mac = self._keyed.copy()
        mac.update(payload)
        token = mac.digest()[:MAC_BYTES] + payload
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


def unsubscribe_token(secret: str, list_id: int, address: str) -> str:
    return UnsubscribeTokens(secret).token(list_id, address)


def verify_unsubscribe_token(secret: str, token: str) -> UnsubscribeClaim | None:
    """The list and address TOKEN was made for, or None for a forged or damaged token."""
    if not token or len(token) > 1024:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
    if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        list_id, rest = _read_varint(payload)
        address = rest.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if "@" not in address:
        return None
    return UnsubscribeClaim(list_id=list_id, address=address)


def unsubscribe_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{quote(token, safe='')}"


def _derived_key(secret: str) -> bytes:
    # A key of its own, derived from the site secret, so these tokens cannot stand in for
    # any other token signed with the same secret.
    return hmac.new(secret.encode("utf-8"), PURPOSE, hashlib.sha256).digest()


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(_derived_key(secret), payload, hashlib.sha256).digest()[:MAC_BYTES]


def _varint(number: int) -> bytes:
    if number < 0:
        raise ValueError("list ids are not negative")
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _read_varint(data: bytes) -> tuple[int, bytes]:
    number = shift = 0
    for index, byte in enumerate(data[:10]):
        number |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return number, data[index + 1:]
    raise ValueError("truncated number")
