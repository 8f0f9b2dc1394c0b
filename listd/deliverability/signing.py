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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError
from dkim.util import InvalidTagValueList, parse_tag_value

from listd.database import Database
from listd.deliverability.dkim_keys import Algorithm, active_key_id, signing_key_bytes
from listd.models import DkimKey

log = logging.getLogger("listd.deliverability")

# The headers a list mail's signature covers when present (issue 8); From is signed twice
# ("oversigned") so nobody can add a second From later without breaking the signature.
SIGNED_HEADERS = (
    "from", "subject", "date", "message-id", "to", "cc", "reply-to", "list-id",
    "list-unsubscribe", "list-unsubscribe-post", "list-post", "mime-version", "content-type",
)

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class DkimSigner:
    """Signs messages for one domain with one key; build it with `DkimSigner.from_pem`.

    The signature is computed as dkimpy computes it (its header parsing, canonicalisation,
    header selection and folding), but the private-key operation goes through OpenSSL (the
    `cryptography` package): dkimpy's RSA is pure Python, about 30 ms per RSA-2048 signature,
    OpenSSL's well under 1 ms.
    """

    domain: str
    selector: str
    algorithm: Algorithm
    # The key as dkimpy takes it (for ARC sealing, which dkimpy does on its own).
    key: bytes
    # The same key for OpenSSL.
    private: PrivateKey = field(compare=False, repr=False)

    @classmethod
    def from_pem(cls, domain: str, selector: str, algorithm: Algorithm | str,
                 private_key_pem: str) -> DkimSigner:
        private = serialization.load_pem_private_key(private_key_pem.encode("ascii"),
                                                     password=None)
        if not isinstance(private, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError(f"unsupported DKIM key type for {domain}")
        return cls(domain=domain, selector=selector, algorithm=Algorithm(algorithm),
                   key=signing_key_bytes(private_key_pem), private=private)

    def sign(self, message: bytes, *, timestamp: int | None = None) -> bytes:
        """The DKIM-Signature header field (CRLF-terminated, folded) to prepend to MESSAGE."""
        return self.template(message, timestamp=timestamp).signature()

    def template(self, message: bytes, placeholder: bytes | None = None, *,
                 timestamp: int | None = None) -> SigningTemplate:
        """MESSAGE parsed and canonicalised once, to sign it for many recipients who differ
        only in what replaces PLACEHOLDER (see `SigningTemplate`)."""
        return SigningTemplate(self, message, placeholder, timestamp)

    def _private_sign(self, data: bytes) -> bytes:
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # RFC 8463: Ed25519 signs the SHA-256 digest of the header data.
        return self.private.sign(hashlib.sha256(data).digest())


_RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
_SIGNATURE_NAME = b"DKIM-Signature"


class SigningTemplate:
    """One message's signature, ready to be finished per recipient.

    Under relaxed/relaxed canonicalisation, replacing a word without white space by another
    (a member's unsubscribe token for the placeholder) commutes with canonicalising: so the
    canonical header fields and body are made once, and each recipient costs a replace, a
    SHA-256 of the body and one private-key operation.
    """

    def __init__(self, signer: DkimSigner, message: bytes, placeholder: bytes | None,
                 timestamp: int | None) -> None:
        self.signer = signer
        self.placeholder = placeholder
        headers, body = dkim.rfc822_parse(message)
        present = {name.lower() for name, _value in headers}
        include = [name.encode() for name in SIGNED_HEADERS if name.encode() in present]
        # Oversign From: the extra, absent instance means "no further From allowed".
        include.append(b"from")
        self.include = tuple(include)
        self.selected = dkim.select_headers(_RELAXED.canonicalize_headers(headers),
                                            self.include)
        self.header_data = b"".join(name + b":" + value for name, value in self.selected)
        self.body = _RELAXED.canonicalize_body(body)
        self.timestamp = str(int(time.time()) if timestamp is None else timestamp).encode()

    def signature(self, token: bytes = b"",
                  merge: Sequence[tuple[bytes, bytes]] = ()) -> bytes:
        """The DKIM-Signature field for the message with TOKEN in place of the placeholder,
        and each (placeholder, value) of MERGE replaced (merge fields, see merge_fields.py)."""
        header_data, body = self.header_data, self.body
        if self.placeholder is not None:
            header_data = header_data.replace(self.placeholder, token)
            body = body.replace(self.placeholder, token)
        if merge:
            header_data, body = self._merged(header_data, body, token, merge)
        signer = self.signer
        domain = signer.domain.encode()
        fields = [
            (b"v", b"1"), (b"a", signer.algorithm.dkim_name), (b"c", b"relaxed/relaxed"),
            (b"d", domain), (b"i", b"@" + domain), (b"q", b"dns/txt"),
            (b"s", signer.selector.encode()), (b"t", self.timestamp),
            (b"h", b" : ".join(self.include)),
            (b"bh", base64.b64encode(hashlib.sha256(body).digest())),
            # As dkimpy: a long b= placeholder pushes b= onto a line of its own.
            (b"b", b"0" * 60),
        ]
        unsigned = dkim.fold(b"; ".join(b"=".join(f) for f in fields),
                             namelen=len(_SIGNATURE_NAME), linesep=b"\r\n")
        unsigned = dkim.RE_BTAG.sub(b"\\1", unsigned)
        # The signature field itself is hashed last, with an empty b= and no final CRLF.
        [(name, value)] = _RELAXED.canonicalize_headers([(_SIGNATURE_NAME, b" " + unsigned)])
        data = header_data + name + b":" + value.rstrip()
        fields[-1] = (b"b", base64.b64encode(signer._private_sign(data)))
        value = dkim.fold(b"; ".join(b"=".join(f) for f in fields) + b"\r\n",
                          namelen=len(_SIGNATURE_NAME), linesep=b"\r\n")
        return _SIGNATURE_NAME + b": " + value

    def _merged(self, header_data: bytes, body: bytes, token: bytes,
                merge: Sequence[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
        """A value may hold spaces or be empty: canonicalising the canonical form again after
        the replacement gives what canonicalising the replaced message would (relaxed only
        collapses white space, and no value holds a line end)."""
        for marker, value in merge:
            body = body.replace(marker, value)
        if not any(marker in header_data for marker, _ in merge):
            return header_data, _RELAXED.canonicalize_body(body)
        selected = []
        for name, value in self.selected:
            if self.placeholder is not None:
                value = value.replace(self.placeholder, token)
            for marker, replacement in merge:
                value = value.replace(marker, replacement)
            selected.append((name, value))
        canonical = _RELAXED.canonicalize_headers(selected)
        return (b"".join(name + b":" + value for name, value in canonical),
                _RELAXED.canonicalize_body(body))


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
