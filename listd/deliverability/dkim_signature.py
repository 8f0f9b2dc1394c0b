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

    @property
    def signature_length(self) -> int:
        """Characters of every b= value this key makes (base64 of a fixed-size signature)."""
        size = self.private.key_size // 8 if isinstance(self.private, rsa.RSAPrivateKey) \
            else 64
        return 4 * -(-size // 3)

    def _private_sign(self, data: bytes) -> bytes:
        if isinstance(self.private, rsa.RSAPrivateKey):
            return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # RFC 8463: Ed25519 signs the SHA-256 digest of the header data.
        return self.private.sign(hashlib.sha256(data).digest())


_RELAXED = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
_SIGNATURE_NAME = b"DKIM-Signature"
# Stand-ins for the bh= and b= values while the field's layout is made (see FieldLayout).
_BH_MARK, _B_MARK = b"\x01", b"\x02"
_BH_LENGTH = 44  # base64 of a SHA-256 digest


class FieldLayout:
    """A header field made once with runs of mark bytes in place of values of known length,
    kept as pieces to put each recipient's values in.

    dkimpy's fold breaks a line only at a space, or inside a run of bytes without one, by
    length; canonicalisation only touches white space. Neither looks at what the other bytes
    are, so folding (or canonicalising) with a value's stand-in and then putting the value in
    gives what folding the field with the value gives, byte for byte.
    """

    def __init__(self, made: bytes, marks: Sequence[bytes]) -> None:
        self.pieces: list[bytes | tuple[int, int, int]] = []
        used = [0] * len(marks)
        start = 0
        index = 0
        while index < len(made):
            byte = made[index:index + 1]
            if byte not in marks:
                index += 1
                continue
            end = index
            while made[end:end + 1] == byte:
                end += 1
            which = marks.index(byte)
            self.pieces += [made[start:index], (which, used[which], used[which] + end - index)]
            used[which] += end - index
            start = index = end
        self.pieces.append(made[start:])

    def fill(self, values: Sequence[bytes]) -> bytes:
        return b"".join(piece if isinstance(piece, bytes) else values[piece[0]][piece[1]:piece[2]]
                        for piece in self.pieces)


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

    unsigned_layout: FieldLayout | None
    signed_layout: FieldLayout | None

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
        self._lay_out()

    def _lay_out(self) -> None:
        """The signature field's layouts, the same for every recipient: only bh= and b= differ,
        and each is of a fixed length (FieldLayout)."""
        signer = self.signer
        constant = b"".join((signer.domain.encode(), signer.selector.encode(), *self.include))
        if _BH_MARK in constant or _B_MARK in constant:
            self.unsigned_layout = self.signed_layout = None  # cannot happen in a valid name
            return
        unsigned = self._unsigned(_BH_MARK * _BH_LENGTH)
        self.unsigned_layout = FieldLayout(unsigned, [_BH_MARK])
        self.signed_layout = FieldLayout(
            self._signed(_BH_MARK * _BH_LENGTH, _B_MARK * signer.signature_length),
            [_BH_MARK, _B_MARK])

    def _fields(self, bh: bytes, b: bytes) -> list[tuple[bytes, bytes]]:
        signer = self.signer
        domain = signer.domain.encode()
        return [
            (b"v", b"1"), (b"a", signer.algorithm.dkim_name), (b"c", b"relaxed/relaxed"),
            (b"d", domain), (b"i", b"@" + domain), (b"q", b"dns/txt"),
            (b"s", signer.selector.encode()), (b"t", self.timestamp),
            (b"h", b" : ".join(self.include)), (b"bh", bh), (b"b", b),
        ]

    def _unsigned(self, bh: bytes) -> bytes:
        """The signature field as it is hashed last: canonical, with an empty b= and no
        final CRLF."""
        # As dkimpy: a long b= placeholder pushes b= onto a line of its own.
        unsigned = dkim.fold(b"; ".join(b"=".join(f) for f in self._fields(bh, b"0" * 60)),
                             namelen=len(_SIGNATURE_NAME), linesep=b"\r\n")
        unsigned = dkim.RE_BTAG.sub(b"\\1", unsigned)
        [(name, value)] = _RELAXED.canonicalize_headers([(_SIGNATURE_NAME, b" " + unsigned)])
        return name + b":" + value.rstrip()

    def _signed(self, bh: bytes, b: bytes) -> bytes:
        value = dkim.fold(b"; ".join(b"=".join(f) for f in self._fields(bh, b)) + b"\r\n",
                          namelen=len(_SIGNATURE_NAME), linesep=b"\r\n")
        return _SIGNATURE_NAME + b": " + value

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
        template._lay_out()
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
        bh = base64.b64encode(hashlib.sha256(body).digest())
        if self.unsigned_layout is None or self.signed_layout is None:
            b = base64.b64encode(self.signer._private_sign(header_data + self._unsigned(bh)))
            return self._signed(bh, b)
        b = base64.b64encode(self.signer._private_sign(
            header_data + self.unsigned_layout.fill((bh,))))
        return self.signed_layout.fill((bh, b))

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
