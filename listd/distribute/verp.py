"""VERP envelope senders: LIST-bounces+TOKEN@DOMAIN, where TOKEN names one queue entry.

The token is the entry's id in hex and a truncated HMAC of it (40 bits), so a bounce names exactly
the member and post it is about, and nobody can forge one for another member. The entry id
alone is enough: the queue row holds the member, the outbound message and so the post.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.addresses import AddressKind, scheme_address, scheme_local_part
from listd.models import OutboundEntry, OutboundMessage

MAC_LENGTH = 10
# RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
MAX_LOCAL_PART = 64
_DIGITS = frozenset("0123456789abcdef")


class VerpSigner:
    """Makes tokens with one key; the HMAC state is prepared once, then copied per token."""

    def __init__(self, secret: str) -> None:
        self._keyed = hmac.new(secret.encode(), b"verp:", hashlib.sha256)

    def mac(self, ident: str) -> str:
        h = self._keyed.copy()
        h.update(ident.encode())
        return h.hexdigest()[:MAC_LENGTH]

    def token(self, entry_id: int) -> str:
        ident = format(entry_id, "x")
        return f"{ident}-{self.mac(ident)}"

    def sender(self, list_name: str, domain: str, entry_id: int) -> str:
        """LIST-bounces+TOKEN@DOMAIN, or LIST-bounces@DOMAIN if that would not fit in 64."""
        local = scheme_local_part(list_name, AddressKind.BOUNCES, self.token(entry_id))
        if len(local) > MAX_LOCAL_PART:
            return scheme_address(list_name, domain, AddressKind.BOUNCES)
        return f"{local}@{domain}"

    def decode(self, token: str) -> int | None:
        ident, _, mac = token.lower().partition("-")
        if not ident or len(ident) > 16 or len(mac) != MAC_LENGTH or \
                not _DIGITS.issuperset(ident):
            return None
        if not hmac.compare_digest(mac, self.mac(ident)):
            return None
        return int(ident, 16)


def verp_token(entry_id: int, secret: str) -> str:
    return VerpSigner(secret).token(entry_id)


def decode_verp_token(token: str, secret: str) -> int | None:
    """The queue entry id the token was made for, or None if it was not made by us."""
    return VerpSigner(secret).decode(token)


def verp_sender(list_name: str, domain: str, entry_id: int, secret: str) -> str:
    return VerpSigner(secret).sender(list_name, domain, entry_id)


@dataclass(frozen=True)
class VerpTarget:
    """What a VERP token names: the delivery, the member and the post it was sent for."""

    entry_id: int
    recipient: str
    member_id: int | None
    outbound_id: int
    list_id: int | None
    # The stored post (messages.id) the outbound message was rendered from.
    source_message_id: int | None


def find_verp_target(session: Session, token: str, secret: str) -> VerpTarget | None:
    """Decode TOKEN and look its queue entry up; None if forged or the entry is gone."""
    entry_id = decode_verp_token(token, secret)
    if entry_id is None:
        return None
    row = session.execute(
        select(OutboundEntry.id, OutboundEntry.recipient, OutboundEntry.member_id,
               OutboundEntry.outbound_id, OutboundMessage.list_id,
               OutboundMessage.source_message_id)
        .join(OutboundMessage, OutboundMessage.id == OutboundEntry.outbound_id)
        .where(OutboundEntry.id == entry_id)).first()
    return VerpTarget(*row) if row is not None else None
