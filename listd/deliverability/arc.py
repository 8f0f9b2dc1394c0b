"""ARC sealing (RFC 8617): the list vouches for what the post's authentication was on arrival.

A receiver that trusts the list's domain can then accept a post whose author DKIM signature
the list broke (subject prefix, footer). Applied after DKIM signing, on the final bytes:

    results = <AuthResults of the post when it arrived (authentication.verify_incoming)>
    raw = signer.sign(raw) + raw
    if seals_for(config.arc, list_domain):
        raw = seal(raw, signer, authserv_id=config.arc.authserv_id or list_domain,
                   results=results) + raw

Sealing needs an RSA key: ARC allows only rsa-sha256, so a domain with an Ed25519 key is not
sealed (`seal` returns b"" and logs why).
"""

from __future__ import annotations

import logging

import dkim

from listd.config import ArcConfig
from listd.deliverability.authentication import AuthResults
from listd.deliverability.dkim_keys import Algorithm
from listd.deliverability.signing import SIGNED_HEADERS, DkimSigner, present_header_names

log = logging.getLogger("listd.deliverability")

# ARC-Message-Signature covers what listd's DKIM signature covers (dkimpy, following
# RFC 8617 4.1.2's advice, refuses to cover DKIM-Signature fields themselves).
ARC_SIGNED_HEADERS = SIGNED_HEADERS


def seals_for(config: ArcConfig, domain: str) -> bool:
    return domain.lower() in config.domains


def seal(message: bytes, signer: DkimSigner, *, authserv_id: str,
         results: AuthResults | None, timestamp: int | None = None) -> bytes:
    """The header fields to prepend to MESSAGE: listd's Authentication-Results and a new ARC
    set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results), CRLF-terminated.

    RESULTS are the checks made when the post arrived; without them the set records only
    the ARC chain the post carries (arc=none when it carries none).
    """
    if signer.algorithm is not Algorithm.RSA:
        log.info("not ARC-sealing for %s: its DKIM key is %s, ARC needs RSA", signer.domain,
                 signer.algorithm.value)
        return b""
    value = (results.header_value(authserv_id) if results is not None
             else f"{authserv_id}; arc=none")
    # dkimpy reads the chain status (cv=) from the Authentication-Results with our id.
    authentication = f"Authentication-Results: {value}\r\n".encode()
    stamped = authentication + message
    present = present_header_names(stamped)
    include = [name.encode() for name in ARC_SIGNED_HEADERS if name in present]
    lines = dkim.arc_sign(stamped, signer.selector.encode(), signer.domain.encode(), signer.key,
                          authserv_id.encode(), include_headers=include, timestamp=timestamp)
    return b"".join(lines) + authentication
