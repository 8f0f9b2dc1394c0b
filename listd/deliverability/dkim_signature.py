"""The DKIM-Signature field: a domain's signer and a message's signing template.

Pure (no database): besides the daemon, the signing pool's worker processes import it
(deliverability/signing_pool.py), and each of them should start in a fraction of a second.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from dkim.canonicalization import CanonicalizationPolicy


class Algorithm(enum.StrEnum):
    RSA = "rsa"
    ED25519 = "ed25519"

    @property
    def dkim_name(self) -> bytes:
        """The a= value of a signature made with this key."""
        return b"rsa-sha256" if self is Algorithm.RSA else b"ed25519-sha256"



def signing_key_bytes(private_key_pem: str) -> bytes:
    """The private key in the form dkimpy's sign() and arc_sign() take."""
    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        return base64.b64encode(seed)
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())



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
    # As stored, for a signing worker process to load it again (signing_pool.py).
    pem: str = field(default="", compare=False, repr=False)

    @classmethod
    def from_pem(cls, domain: str, selector: str, algorithm: Algorithm | str,
                 private_key_pem: str) -> DkimSigner:
        private = serialization.load_pem_private_key(private_key_pem.encode("ascii"),
                                                     password=None)
        if not isinstance(private, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError(f"unsupported DKIM key type for {domain}")
        return cls(domain=domain, selector=selector, algorithm=Algorithm(algorithm),
                   key=signing_key_bytes(private_key_pem), private=private,
                   pem=private_key_pem)

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


@dataclass(frozen=True)
class TemplateParts:
    """A `SigningTemplate` as plain values (picklable), to finish it in another process."""

    domain: str
    selector: str
    algorithm: str
    pem: str
    include: tuple[bytes, ...]
    header_data: bytes
    body: bytes
    placeholder: bytes | None
    timestamp: bytes


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
        # Kept for merge fields, whose values may hold spaces (see _merged).
        self.selected: list[tuple[bytes, bytes]] | None = dkim.select_headers(
            _RELAXED.canonicalize_headers(headers), self.include)
        self.header_data = b"".join(name + b":" + value for name, value in self.selected)
        self.body = _RELAXED.canonicalize_body(body)
        self.timestamp = str(int(time.time()) if timestamp is None else timestamp).encode()

    def parts(self) -> TemplateParts:
        signer = self.signer
        return TemplateParts(signer.domain, signer.selector, signer.algorithm.value, signer.pem,
                             self.include, self.header_data, self.body, self.placeholder,
                             self.timestamp)

    @classmethod
    def from_parts(cls, signer: DkimSigner, parts: TemplateParts) -> SigningTemplate:
        """The template PARTS describe, signing with SIGNER (parsed from parts.pem)."""
        template = cls.__new__(cls)
        template.signer = signer
        template.placeholder = parts.placeholder
        template.include = parts.include
        # The pool signs posts without merge fields only (delivery.py).
        template.selected = None
        template.header_data = parts.header_data
        template.body = parts.body
        template.timestamp = parts.timestamp
        return template

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
        if self.selected is None:
            raise ValueError("merge fields in headers need the template's own header fields")
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
