"""DMARC: policy lookups over DNS, the decision, and the munged or wrapped post still verifies."""

from __future__ import annotations

from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser

import dkim
import pytest

from listd.deliverability.authentication import dkim_dnsfunc
from listd.deliverability.dkim_keys import Algorithm
from listd.deliverability.dmarc import (
    DmarcResolver,
    Policy,
    candidate_names,
    decide,
    mitigate,
    parse_record,
)
from listd.deliverability.resolver import make_resolver
from listd.deliverability.signing import DkimSigner
from tests.support.dns_server import DnsServer
from tests.support.keys import private_key, txt_record

LIST_DOMAIN = "lists.example.org"
ZONE = {
    "_dmarc.strict.example": {"TXT": ['"v=DMARC1; p=reject; rua=mailto:d@strict.example"']},
    "_dmarc.parent.example": {"TXT": ['"v=DMARC1; p=none; sp=quarantine"']},
    "_dmarc.relaxed.example": {"TXT": ['"v=DMARC1; p=none"']},
}


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email_policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


POST = parse(b"From: Jeanne Dupont <jeanne@strict.example>\r\n"
             b"To: news@lists.example.org\r\n"
             b"Cc: paul@example.net\r\n"
             b"Subject: Assembly\r\n"
             b"Message-ID: <a1@strict.example>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
             b"On Friday.\r\n")


async def test_policies_are_looked_up_with_the_org_domain_fallback() -> None:
    with DnsServer(ZONE) as dns_server:
        resolver = DmarcResolver(dns_server.config)
        strict = await resolver.policy("strict.example")
        assert strict.policy is Policy.REJECT and strict.found_at == "_dmarc.strict.example"
        inherited = await resolver.policy("mail.parent.example")
        assert inherited.policy is Policy.QUARANTINE and "inherited" in inherited.reason
        absent = await resolver.policy("nothing.example")
        assert absent.policy is Policy.NONE and absent.record is None
        # Cached for the record's TTL: asking again sends no query.
        asked = len(dns_server.queries)
        assert (await resolver.policy("strict.example")).policy is Policy.REJECT
        assert resolver.policy_blocking("strict.example").policy is Policy.REJECT
        assert len(dns_server.queries) == asked


async def test_a_dns_server_that_does_not_answer_leads_to_mitigation() -> None:
    with DnsServer(ZONE, silent=True) as dns_server:
        lookup = await DmarcResolver(dns_server.config).policy("strict.example")
    assert lookup.policy is Policy.UNKNOWN and "timeout" in lookup.reason.lower()
    mitigation = decide(lookup, "munge_from", ())
    assert mitigation.mode == "munge_from" and "unknown" in mitigation.reason


@pytest.mark.parametrize("domain", ["\u2603-\u2318.example", "bad\u200d.example"])
def test_a_domain_that_is_not_valid_idna_is_answered_at_once(domain: str) -> None:
    """dnspython refuses to encode such a name (IDNAException); the lookup answers "unknown"
    at once instead of dying in its thread and leaving the caller to wait out its timeout."""
    import time

    with DnsServer(ZONE) as dns_server:
        resolver = DmarcResolver(dns_server.config)
        began = time.monotonic()
        lookup = resolver.policy_within(domain, 5.0)
        assert time.monotonic() - began < 1.0
    assert lookup.policy is Policy.UNKNOWN and "IDNA" in lookup.reason


def test_the_decision() -> None:
    from listd.deliverability.dmarc import PolicyLookup
    reject = PolicyLookup("strict.example", Policy.REJECT, "p=reject")
    relaxed = PolicyLookup("relaxed.example", Policy.NONE, "p=none")
    assert decide(reject, "wrap", ()).mode == "wrap"
    assert decide(reject, "none", ()).mode == "none"
    assert decide(relaxed, "munge_from", ()).mode == "none"
    assert decide(relaxed, "munge_from", ("relaxed.example",)).applies
    assert decide(relaxed, "munge_from", (), always=True).applies


def test_records_and_names() -> None:
    assert parse_record("v=DMARC1; p=quarantine; adkim=s") is not None
    assert parse_record("v=spf1 -all") is None
    assert parse_record("v=DMARC1; rua=mailto:x@y").policy is Policy.NONE  # type: ignore[union-attr]
    assert candidate_names("a.b.example.co.uk") == ["a.b.example.co.uk", "b.example.co.uk",
                                                    "example.co.uk"]


def test_munge_from_with_replies_to_the_poster() -> None:
    munged = mitigate(POST, list_address="news@lists.example.org", list_display_name="News",
                      mode="munge_from", reply_policy="poster")
    assert str(munged["From"]) == "Jeanne Dupont via News <news@lists.example.org>"
    assert str(munged["Reply-To"]) == "Jeanne Dupont <jeanne@strict.example>"
    assert str(munged["Cc"]) == "paul@example.net"
    assert str(POST["From"]) == "Jeanne Dupont <jeanne@strict.example>", "the input is kept"


def test_munge_from_with_replies_to_the_list() -> None:
    munged = mitigate(POST, list_address="news@lists.example.org", list_display_name="News",
                      mode="munge_from", reply_policy="list")
    assert str(munged["Reply-To"]) == "news@lists.example.org"
    assert "jeanne@strict.example" in str(munged["Cc"]) and "paul@example.net" in str(
        munged["Cc"])


def test_wrap_puts_the_post_intact_inside_a_message_from_the_list() -> None:
    wrapped = mitigate(POST, list_address="news@lists.example.org", list_display_name="News",
                       mode="wrap", reply_policy="poster")
    assert wrapped.get_content_type() == "multipart/mixed"
    assert str(wrapped["From"]) == "Jeanne Dupont via News <news@lists.example.org>"
    assert str(wrapped["Subject"]) == "Assembly"
    inner = next(iter(wrapped.iter_parts()))
    assert inner.get_content_type() == "message/rfc822"
    original = inner.get_content()
    assert str(original["From"]) == "Jeanne Dupont <jeanne@strict.example>"
    assert "On Friday." in original.get_content()


@pytest.mark.parametrize("mode", ["munge_from", "wrap"])
@pytest.mark.parametrize("algorithm", list(Algorithm))
async def test_a_post_from_a_reject_domain_is_mitigated_and_still_verifies_once_signed(
        mode: str, algorithm: Algorithm) -> None:
    pem = private_key(algorithm)
    zone = {**ZONE, f"listd._domainkey.{LIST_DOMAIN}": {"TXT": [txt_record(algorithm, pem)]}}
    with DnsServer(zone) as dns_server:
        lookup = await DmarcResolver(dns_server.config).policy("strict.example")
        mitigation = decide(lookup, mode, ())  # type: ignore[arg-type]
        assert mitigation.mode == mode
        result = mitigate(POST, list_address="news@lists.example.org",
                          list_display_name="News", mode=mitigation.mode,
                          reply_policy="poster")
        raw = result.as_bytes(policy=email_policy.SMTP)
        signer = DkimSigner.from_pem(LIST_DOMAIN, "listd", algorithm, pem)
        signed = signer.sign(raw) + raw
        assert dkim.verify(signed, dnsfunc=dkim_dnsfunc(make_resolver(dns_server.config)))
        assert b"d=lists.example.org" in signed.replace(b"\r\n ", b" ")
