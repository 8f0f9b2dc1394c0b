"""Inbound checks: DKIM, SPF and DMARC computed against a zone served by the test DNS server,
or read from a trusted Authentication-Results header; and ARC seals that verify."""

from __future__ import annotations

import dkim

from listd.config import AuthenticationConfig, Config
from listd.deliverability.arc import seal
from listd.deliverability.authentication import (
    DmarcResult,
    dkim_dnsfunc,
    verify_incoming,
    verify_incoming_async,
)
from listd.deliverability.dkim_keys import Algorithm
from listd.deliverability.resolver import make_resolver
from listd.deliverability.signing import DkimSigner
from listd.deliverability.spf_check import SpfResult
from tests.support.dns_server import DnsServer
from tests.support.keys import private_key, txt_record

AUTHOR_KEY = private_key(Algorithm.RSA, "author")
LIST_KEY = private_key(Algorithm.RSA, "list")
ZONE = {
    "example.org": {"TXT": ['"v=spf1 ip4:192.0.2.10 -all"']},
    "_dmarc.example.org": {"TXT": ['"v=DMARC1; p=reject"']},
    "a._domainkey.example.org": {"TXT": [txt_record(Algorithm.RSA, AUTHOR_KEY)]},
    "bank.example": {"TXT": ['"v=spf1 ip4:198.51.100.1 -all"']},
    "_dmarc.bank.example": {"TXT": ['"v=DMARC1; p=reject"']},
    "l._domainkey.lists.example.org": {"TXT": [txt_record(Algorithm.RSA, LIST_KEY)]},
}


def post(sender: str) -> bytes:
    return (f"From: {sender}\r\nTo: news@lists.example.org\r\nSubject: Hello\r\n"
            f"Date: Mon, 06 May 2024 10:00:00 +0200\r\nMessage-ID: <m1@example.org>\r\n"
            f"\r\nHello list.\r\n").encode()


def author_signed(sender: str) -> bytes:
    raw = post(sender)
    return DkimSigner.from_pem("example.org", "a", Algorithm.RSA, AUTHOR_KEY).sign(raw) + raw


def config_for(dns_server: DnsServer, trusted: tuple[str, ...] = ()) -> Config:
    return Config(dns=dns_server.config,
                  authentication=AuthenticationConfig(trusted_authserv_ids=trusted))


def test_a_signed_post_from_an_spf_covered_address_passes_aligned() -> None:
    with DnsServer(ZONE) as dns_server:
        results = verify_incoming(author_signed("Jeanne <jeanne@example.org>"),
                                  envelope_sender="jeanne@example.org", client_ip="192.0.2.10",
                                  helo="mail.example.org", config=config_for(dns_server))
    assert results.dkim_pass_domains == ("example.org",)
    assert results.spf is SpfResult.PASS and results.spf_domain == "example.org"
    assert results.dmarc is DmarcResult.PASS and results.aligned
    assert results.source == "computed"


def test_a_forged_from_fails() -> None:
    # Signed by example.org and sent from its server, but claiming to be from bank.example.
    with DnsServer(ZONE) as dns_server:
        results = verify_incoming(author_signed("Bank <security@bank.example>"),
                                  envelope_sender="jeanne@example.org", client_ip="192.0.2.10",
                                  helo="mail.example.org", config=config_for(dns_server))
    assert results.dkim_pass_domains == ("example.org",)
    assert results.dmarc is DmarcResult.FAIL and not results.aligned


def test_spf_fails_from_an_address_the_domain_does_not_list() -> None:
    with DnsServer(ZONE) as dns_server:
        results = verify_incoming(post("security@bank.example"),
                                  envelope_sender="security@bank.example",
                                  client_ip="203.0.113.5", helo="evil.example",
                                  config=config_for(dns_server))
    assert results.spf is SpfResult.FAIL and results.dkim_pass_domains == ()
    assert results.dmarc is DmarcResult.FAIL and not results.aligned


async def test_the_async_form_and_a_silent_dns_give_temperror_within_the_timeout() -> None:
    with DnsServer(ZONE, silent=True) as dns_server:
        results = await verify_incoming_async(
            post("jeanne@example.org"), envelope_sender="jeanne@example.org",
            client_ip="192.0.2.10", helo="mail.example.org", config=config_for(dns_server),
            timeout=1.5)
    assert results.dmarc is DmarcResult.TEMPERROR and not results.aligned


def test_a_trusted_authentication_results_header_is_believed_and_others_are_not() -> None:
    header = (b"Authentication-Results: mx.lists.example.org; dkim=pass header.d=example.org;"
              b" spf=pass smtp.mailfrom=jeanne@example.org; dmarc=pass header.from=example.org"
              b"\r\n")
    raw = header + post("jeanne@example.org")
    with DnsServer(ZONE) as dns_server:
        trusted = verify_incoming(raw, envelope_sender="jeanne@example.org",
                                  client_ip="127.0.0.1", config=config_for(
                                      dns_server, ("mx.lists.example.org",)))
        untrusted = verify_incoming(raw, envelope_sender="jeanne@example.org",
                                    client_ip="127.0.0.1", config=config_for(dns_server))
    assert trusted.source == "trusted-header" and trusted.aligned
    assert trusted.dmarc is DmarcResult.PASS and trusted.dkim_pass_domains == ("example.org",)
    assert untrusted.source == "computed" and untrusted.dmarc is DmarcResult.FAIL


def test_an_arc_seal_verifies_and_the_next_hop_can_extend_the_chain() -> None:
    signer = DkimSigner.from_pem("lists.example.org", "l", Algorithm.RSA, LIST_KEY)
    with DnsServer(ZONE) as dns_server:
        config = config_for(dns_server)
        arrived = author_signed("Jeanne <jeanne@example.org>")
        results = verify_incoming(arrived, envelope_sender="jeanne@example.org",
                                  client_ip="192.0.2.10", helo="mail.example.org",
                                  config=config)
        # What the list sends: its changes break the author's signature; DKIM, then ARC.
        rendered = arrived.replace(b"Subject: Hello", b"Subject: [news] Hello")
        rendered = rendered + b"-- \r\nnews\r\n"
        signed = signer.sign(rendered) + rendered
        sealed = seal(signed, signer, authserv_id="lists.example.org", results=results,
                      timestamp=1715000000) + signed
        dnsfunc = dkim_dnsfunc(make_resolver(dns_server.config))
        cv, _results, reason = dkim.arc_verify(sealed, dnsfunc=dnsfunc)
        assert cv == dkim.CV_Pass, reason
        assert b"dkim=pass header.d=example.org" in sealed
        assert b"ARC-Seal: i=1" in sealed.replace(b"\r\n ", b" ")
        # A receiver sees the chain as pass on arrival.
        again = verify_incoming(sealed, envelope_sender="news-bounces@lists.example.org",
                                client_ip="192.0.2.99", helo="lists.example.org",
                                config=config)
    assert again.arc == "pass"
    assert "lists.example.org" in again.dkim_pass_domains


def test_an_ed25519_key_does_not_seal() -> None:
    signer = DkimSigner.from_pem("lists.example.org", "e", Algorithm.ED25519,
                                 private_key(Algorithm.ED25519))
    assert seal(post("a@example.org"), signer, authserv_id="x", results=None) == b""
