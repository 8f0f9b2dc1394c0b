"""DKIM keys for tests: made once per test session (RSA generation takes a moment)."""

from __future__ import annotations

import functools

from listd.deliverability.dkim_keys import (
    Algorithm,
    DnsRecord,
    generate_private_key,
    public_key_base64,
)


@functools.cache
def private_key(algorithm: Algorithm, label: str = "") -> str:
    return generate_private_key(algorithm)


def txt_record(algorithm: Algorithm, pem: str) -> str:
    """The DKIM TXT record for PEM, in zone-file syntax (several quoted strings)."""
    record = DnsRecord(name="", value=f"v=DKIM1; k={algorithm.value}; p={public_key_base64(pem)}")
    return " ".join(f'"{part}"' for part in record.strings)
