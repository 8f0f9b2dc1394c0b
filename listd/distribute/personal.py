"""Per-recipient personalisation, spliced into the bytes: a member's own unsubscribe token, and
for a post with merge fields or per-member tracking, the member's values.

The rendered post carries render.PERSONAL_PLACEHOLDER and perhaps the placeholders of
merge_fields.py and tracking/links.py; per recipient only those are replaced, so personalising
costs a few bytes.replace, not a re-render. The token is the one-click unsubscribe token of
deliverability/unsubscribe.py, which the web endpoint accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.deliverability.unsubscribe import UnsubscribeTokens
from listd.distribute.render import PERSONAL_PLACEHOLDER
from listd.merge_fields import ALL_PLACEHOLDERS, Recipient, values_for
from listd.models import Member
from listd.tracking.links import MEMBER_PLACEHOLDER
from listd.tracking.tokens import LinkTokens

__all__ = ["PLACEHOLDER", "MemberValues", "UnsubscribeTokens", "markers_in", "personalize"]

PLACEHOLDER = PERSONAL_PLACEHOLDER.encode()
MARKERS = (*ALL_PLACEHOLDERS, MEMBER_PLACEHOLDER)
Pairs = Sequence[tuple[bytes, bytes]]


def personalize(body: bytes, token: str) -> bytes:
    return body.replace(PLACEHOLDER, token.encode())


def markers_in(raw: bytes) -> tuple[str, ...]:
    """The member placeholders RAW carries (none for a post without merge fields)."""
    if b"LISTDMERGE" not in raw and b"LISTDTRACK" not in raw:
        return ()
    return tuple(m for m in MARKERS if m.encode() in raw)


def replace_all(body: bytes, pairs: Pairs, *, stuffed: bool = False) -> bytes:
    """BODY with each pair replaced; STUFFED: BODY is on the wire (RFC 5321 dot-stuffing), so a
    value that begins a line with a dot gets the dot doubled, as every line did."""
    for marker, value in pairs:
        if stuffed and value.startswith(b"."):
            body = body.replace(b"\n" + marker, b"\n." + value)
        body = body.replace(marker, value)
    return body


class MemberValues:
    """Each recipient's (placeholder, value) pairs."""

    def __init__(self, secret: str) -> None:
        self.links = LinkTokens(secret)

    def pairs(self, markers: tuple[str, ...], post: int | None, recipient: str, name: str,
              member_id: int | None) -> list[tuple[bytes, bytes]]:
        fields = tuple(m for m in markers if m != MEMBER_PLACEHOLDER)
        pairs = values_for(Recipient(recipient, name), fields) if fields else []
        if MEMBER_PLACEHOLDER in markers:
            member = self.links.member(post, member_id) \
                if post is not None and member_id is not None else ""
            pairs.append((MEMBER_PLACEHOLDER.encode(), member.encode()))
        return pairs


def member_names(session: Session, member_ids: Iterable[int]) -> dict[int, str]:
    """The names of these members (one query per claimed batch that needs them)."""
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    return dict(session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(ids))).all())
