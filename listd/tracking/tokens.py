"""Redirect tokens: `/r/TOKEN` names a link of one post, signed so it cannot name any other URL.

    TOKEN = base64url(MAC16 + varint(post) + varint(link) + url)  [ "." + MEMBER ]
    MEMBER = base64url(MAC10 + varint(member id))                  (tracking: per_member only)

POST is the stored post's id (OutboundMessage.source_message_id), known when the post is
rendered, before its outbound row exists. The URL travels in the token, so a redirect needs no
table and keeps working after the queue is purged; the HMAC (a key derived from the site secret
for this purpose only) means nobody can make listd redirect to a URL it did not send: listd is
no open redirect. MEMBER is signed over the post and the member, and only that member's copy
carries it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from listd.deliverability.unsubscribe import _read_varint, _varint

PURPOSE = b"listd link tracking v1"
MAC_BYTES = 16
MEMBER_MAC_BYTES = 10
MAX_TOKEN = 8192
# Redirect path on the http listener (not among DESIGN.md's fixed paths, so nothing clashes).
PATH = "/r/"


@dataclass(frozen=True)
class Link:
    post: int
    link: int
    url: str
    member_id: int | None = None


class LinkTokens:
    def __init__(self, secret: str) -> None:
        key = hmac.new(secret.encode("utf-8"), PURPOSE, hashlib.sha256).digest()
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def _mac(self, payload: bytes) -> bytes:
        mac = self._keyed.copy()
        mac.update(payload)
        return mac.digest()

    def link(self, post: int, link: int, url: str) -> str:
        payload = _varint(post) + _varint(link) + url.encode("utf-8")
        return _b64(self._mac(b"L" + payload)[:MAC_BYTES] + payload)

    def member(self, post: int, member_id: int) -> str:
        payload = _varint(member_id)
        return _b64(self._mac(b"M" + _varint(post) + payload)[:MEMBER_MAC_BYTES] + payload)

    def verify(self, token: str) -> Link | None:
        """The link TOKEN names, or None for anything we did not make."""
        if not token or len(token) > MAX_TOKEN:
            return None
        link_part, _, member_part = token.partition(".")
        raw = _unb64(link_part)
        if raw is None or len(raw) <= MAC_BYTES:
            return None
        mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(b"L" + payload)[:MAC_BYTES]):
            return None
        try:
            post, rest = _read_varint(payload)
            number, rest = _read_varint(rest)
            url = rest.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        if not url.lower().startswith(("http://", "https://")):
            return None
        return Link(post, number, url, self._member(post, member_part))

    def _member(self, post: int, token: str) -> int | None:
        raw = _unb64(token) if token else None
        if raw is None or len(raw) <= MEMBER_MAC_BYTES:
            return None
        mac, payload = raw[:MEMBER_MAC_BYTES], raw[MEMBER_MAC_BYTES:]
        expected = self._mac(b"M" + _varint(post) + payload)[:MEMBER_MAC_BYTES]
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            return _read_varint(payload)[0]
        except ValueError:
            return None


def redirect_url(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + PATH + token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
