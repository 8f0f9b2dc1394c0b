"""The signature on every webhook request: HMAC-SHA256 over the timestamp and the body.

The receiver recomputes `HMAC(secret, f"{timestamp}.{body}")` and compares it with the
`Listd-Signature: sha256=HEX` header, and refuses old timestamps, so a captured request
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Listd-Signature"
TIMESTAMP_HEADER = "Listd-Timestamp"
EVENT_HEADER = "Listd-Event"
DELIVERY_HEADER = "Listd-Delivery"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
