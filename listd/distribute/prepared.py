"""An outbound message made ready for the wire once: DKIM-signed, ARC-sealed, dot-stuffed.

Every mail listd sends passes through here after all rendering, so posts and listd's own mail
(replies, notices, forwards) are signed alike, with the active key of the list's domain (or,
for mail that belongs to no list, of the envelope sender's domain). Where nothing differs per
recipient in what the signature covers, the message is signed once for all its recipients;
a personal message (one-click unsubscribe token in List-Unsubscribe and the footer) keeps a
`SigningTemplate` and is signed per recipient, by the signing pool's worker processes
(deliverability/signing_pool.py) or, without them, in a thread of the delivery worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from listd.config import Config
from listd.deliverability.arc import seal, seals_for
from listd.deliverability.authentication import AuthResults
from listd.deliverability.signing import DkimKeyring, DkimSigner, SigningTemplate
from listd.distribute.claims import OutboundInfo
from listd.distribute.personal import PLACEHOLDER, Pairs, markers_in, replace_all
from listd.distribute.smtp_client import wire_body

log = logging.getLogger("listd.distribute")

# Outbound kinds that carry someone else's mail on, and so get an ARC seal where configured.
FORWARDED_KINDS = ("post", "forward")


@dataclass(frozen=True)
class Prepared:
    """An outbound message ready for the wire: its body once, and how to address it."""

    info: OutboundInfo
    # Wire-ready (CRLF, dot-stuffed, final dot); already signed unless PERSONAL.
    body: bytes
    personal: bool
    eight_bit: bool
    # PERSONAL and signed: each recipient's DKIM-Signature is finished from this.
    signing: SigningTemplate | None = None
    # PERSONAL and sealed: each recipient's ARC set is made from the signed message.
    sealing: Sealing | None = None
    # The member placeholders (merge fields, per-member tracking) the body carries.
    markers: tuple[str, ...] = ()

    @property
    def signed_per_recipient(self) -> bool:
        """Each recipient needs a signature of its own from the token alone (no ARC seal, no
        merge fields): what the signing pool can make."""
        return self.signing is not None and self.sealing is None and not self.markers

    def signed_body(self, token: str, signature: bytes) -> bytes:
        """The wire body for the recipient whose token is TOKEN, with its SIGNATURE field
        (made from `signing`, perhaps in another process)."""
        return signature + self.body.replace(PLACEHOLDER, token.encode())

    def body_for(self, token: str, merge: Pairs = ()) -> bytes:
        """The wire body for one recipient, whose unsubscribe token is TOKEN and whose own
        values are MERGE (personal.MemberValues)."""
        if not self.personal:
            return self.body
        encoded = token.encode()
        body = replace_all(self.body.replace(PLACEHOLDER, encoded), merge, stuffed=True)
        if self.signing is None:
            return body
        signature = self.signing.signature(encoded, merge)
        if self.sealing is None:
            return signature + body
        # Rare (ARC on a personal list): dkimpy seals, at its own pace, per recipient.
        plain = signature + replace_all(self.sealing.raw.replace(PLACEHOLDER, encoded), merge)
        return wire_body(self.sealing.seal(plain) + plain)


@dataclass(frozen=True)
class Sealing:
    signer: DkimSigner
    authserv_id: str
    results: AuthResults | None
    # The message as signed (CRLF), for sealing a personal message per recipient.
    raw: bytes = b""

    def seal(self, message: bytes) -> bytes:
        return seal(message, self.signer, authserv_id=self.authserv_id, results=self.results)


def signing_domain(info: OutboundInfo) -> str:
    return (info.domain or info.envelope_sender.rpartition("@")[2]).lower()


def prepare(info: OutboundInfo, keyring: DkimKeyring, config: Config) -> Prepared:
    try:
        return _prepare(info, keyring, config)
    except Exception:
        # Ours (a damaged key, a message dkimpy cannot parse): the mail still goes, unsigned.
        log.exception("outbound=%d: cannot sign; sending it unsigned", info.outbound_id)
        body = wire_body(info.raw)
        markers = markers_in(body)
        return Prepared(info, body, PLACEHOLDER in body or bool(markers), not body.isascii(),
                        markers=markers)


def _prepare(info: OutboundInfo, keyring: DkimKeyring, config: Config) -> Prepared:
    raw = info.raw
    markers = markers_in(raw)
    personal = PLACEHOLDER in raw or bool(markers)
    domain = signing_domain(info)
    signer = keyring.signer_for(domain) if config.dkim.sign and domain else None
    sealing = None
    if signer is not None and info.kind in FORWARDED_KINDS and seals_for(config.arc, domain):
        results = AuthResults.from_record(info.arrival_auth) if info.arrival_auth else None
        sealing = Sealing(signer, config.arc.authserv_id or domain, results)
    if signer is None:
        body = wire_body(raw)
        return Prepared(info, body, personal, not body.isascii(), markers=markers)
    if personal:
        # Signed per recipient: the template is made on the same bytes each recipient gets.
        raw = _crlf(raw)
        body = wire_body(raw)
        if sealing is not None:
            sealing = replace(sealing, raw=raw)
        return Prepared(info, body, True, not body.isascii(),
                        signing=signer.template(raw, PLACEHOLDER), sealing=sealing,
                        markers=markers)
    raw = _crlf(raw)
    raw = signer.sign(raw) + raw
    if sealing is not None:
        raw = sealing.seal(raw) + raw
    body = wire_body(raw)
    log.debug("outbound=%d: signed once for all its recipients (d=%s)", info.outbound_id,
              domain)
    return Prepared(info, body, False, not body.isascii())


def _crlf(raw: bytes) -> bytes:
    """RAW with CRLF line ends: what is signed is what goes on the wire."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
