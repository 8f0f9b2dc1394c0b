"""DKIM signing of list mail, and what to do with the signature a post already carried.

Distribution renders a post once, then for each message it sends:

    signer = keyring.signer_for(list_domain)        # None: the domain has no active key
    if signer is not None:
        raw = signer.sign(raw) + raw                # prepend the DKIM-Signature header

`DkimKeyring` keeps each domain's parsed key and asks the database only which key is current
(one indexed lookup per outbound message, not per recipient), so a new key signs at once.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from dataclasses import dataclass

import dkim
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.util import InvalidTagValueList, parse_tag_value

from listd.database import Database
from listd.deliverability.dkim_keys import active_key_id
from listd.deliverability.dkim_signature import (
    SIGNED_HEADERS,
    DkimSigner,
    PrivateKey,
    SigningTemplate,
    TemplateParts,
)
from listd.models import DkimKey

log = logging.getLogger("listd.deliverability")

# The signer and the template live in dkim_signature.py (no database, for the signing pool).
__all__ = ["SIGNED_HEADERS", "DkimKeyring", "DkimSigner", "PrivateKey", "SigningTemplate",
           "TemplateParts", "review_carried_signatures", "strip_broken_signatures"]


class DkimKeyring:
    """Each domain's signer: the parsed key is kept, the database says which key is current.

    Every call asks the database for the id of the domain's active key (one indexed lookup,
    once per outbound message), so a key made by `listd dkim keygen` in another process signs
    the very next message; only the parsing of the key, the costly part, is cached. Blocking:
    call it from worker threads (Database.run), as delivery does.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._signers: dict[str, tuple[int, DkimSigner]] = {}
        self._lock = threading.Lock()

    def signer_for(self, domain: str) -> DkimSigner | None:
        domain = domain.lower()
        with self.db.reading() as session:
            key_id = active_key_id(session, domain)
            if key_id is None:
                return None
            with self._lock:
                cached = self._signers.get(domain)
            if cached is not None and cached[0] == key_id:
                return cached[1]
            key = session.get(DkimKey, key_id)
            if key is None:
                return None
            signer = DkimSigner.from_pem(key.domain, key.selector, key.algorithm,
                                         key.private_key)
        with self._lock:
            self._signers[domain] = (key_id, signer)
        return signer


def present_header_names(message: bytes) -> set[str]:
    headers, _body = dkim.rfc822_parse(message)
    return {name.decode("ascii", "replace").lower() for name, _value in headers}


# --- signatures a post already carries ---------------------------------------------------


@dataclass(frozen=True)
class CarriedSignature:
    domain: str
    # True: listd changed nothing the signature covers, so it still verifies and may stay.
    intact: bool
    reason: str


def review_carried_signatures(original: bytes, rendered: bytes) -> list[CarriedSignature]:
    """For each DKIM-Signature of ORIGINAL (the post as received), whether RENDERED (the post
    as listd will send it) still satisfies it: same body hash and the same h= header fields.

    This is decided without DNS: a signature that was valid on arrival stays valid exactly
    when the bytes it covers are unchanged (under its own canonicalization).
    """
    original_headers, _ = dkim.rfc822_parse(original)
    rendered_headers, rendered_body = dkim.rfc822_parse(rendered)
    verdicts = []
    for name, value in original_headers:
        if name.lower() != b"dkim-signature":
            continue
        verdicts.append(_review_one(value, original_headers, rendered_headers, rendered_body))
    return verdicts


def strip_broken_signatures(original: bytes, rendered: bytes) -> bytes:
    """RENDERED without the carried DKIM-Signature fields that no longer verify on it.

    Keeping a broken signature helps nobody and makes some receivers count a failure; an
    intact one is kept, since it lets the author's domain vouch for the post.
    """
    verdicts = review_carried_signatures(original, rendered)
    if all(v.intact for v in verdicts):
        return rendered
    headers, body = _split(rendered)
    kept: list[bytes] = []
    signatures = iter(verdicts)
    for line in headers:
        if line.split(b":", 1)[0].strip().lower() == b"dkim-signature":
            verdict = next(signatures, None)
            if verdict is not None and not verdict.intact:
                log.info("removing the post's DKIM signature by %s: %s", verdict.domain,
                         verdict.reason)
                continue
        kept.append(line)
    return b"".join(kept) + body


def _review_one(value: bytes, original_headers: list[list[bytes]],
                rendered_headers: list[list[bytes]], rendered_body: bytes) -> CarriedSignature:
    try:
        tags = parse_tag_value(b"".join(value.split()))
        domain = tags.get(b"d", b"?").decode("ascii", "replace")
        policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
        signed = [h.strip().lower() for h in tags[b"h"].split(b":") if h.strip()]
        body_hash = base64.b64decode(tags[b"bh"])
        algorithm = tags.get(b"a", b"rsa-sha256")
    except (InvalidTagValueList, InvalidCanonicalizationPolicyError, KeyError, ValueError):
        return CarriedSignature("?", False, "the signature cannot be parsed")
    hasher = hashlib.sha1 if algorithm == b"rsa-sha1" else hashlib.sha256
    body = policy.canonicalize_body(rendered_body)
    if b"l" in tags:
        try:
            body = body[:int(tags[b"l"])]
        except ValueError:
            return CarriedSignature(domain, False, "the signature's l= is not a number")
    if hasher(body).digest() != body_hash:
        return CarriedSignature(domain, False, "the body was changed (footer, MIME rewrite)")
    for name in dict.fromkeys(signed):
        if _instances(original_headers, name, policy) != _instances(rendered_headers, name,
                                                                     policy):
            return CarriedSignature(domain, False,
                                    f"the signed header {name.decode()} was changed")
    return CarriedSignature(domain, True, "nothing it covers was changed")


def _instances(headers: list[list[bytes]], name: bytes,
               policy: CanonicalizationPolicy) -> list[tuple[bytes, bytes]]:
    chosen = [(n, v) for n, v in headers if n.lower() == name]
    return policy.canonicalize_headers(chosen)


def _split(message: bytes) -> tuple[list[bytes], bytes]:
    """The raw header fields (each with its folded lines) and the rest, blank line included."""
    fields: list[bytes] = []
    position = 0
    lines = message.splitlines(keepends=True)
    for line in lines:
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
        position += len(line)
    return fields, message[position:]
