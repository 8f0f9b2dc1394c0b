"""What is worked out for a post before the write transaction that decides and records it."""

from __future__ import annotations

from dataclasses import dataclass

from listd.deliverability.authentication import AuthResults
from listd.posting.post import Post


@dataclass(frozen=True)
class PreparedPost:
    # Who really sent it (DKIM, SPF, DMARC), where the rules or ARC sealing need it.
    authentication: AuthResults | None
    # The post as the list resends it, should the rules accept it: DMARC-mitigated, rendered
    # with the list's headers and footer, the author's signature kept where still intact.
    outgoing: bytes
    # The facts the rules look at (read_post), read once: the poster's roles, the patterns,
    # the Message-ID seen before. Read a few milliseconds before the deciding transaction,
    # which is the same as the post arriving that much earlier.
    facts: Post
