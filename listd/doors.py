"""Which door stored an inbound message, as its row's `peer` says.

An SMTP peer is an IP address; a door that authenticated the poster itself (the API, the web
pages, `listd post send`) stores its own name with a colon instead, so no mail from outside can
pass for one. The posting rules trust such a post's From, and only such posts get merge fields
and link tracking.
"""

from __future__ import annotations

AUTHENTICATED_DOORS = ("api:", "web:", "cli:")


def is_signed_in(peer: str) -> bool:
    """Whether an inbound row with PEER came through a signed-in door."""
    return peer.startswith(AUTHENTICATED_DOORS)
