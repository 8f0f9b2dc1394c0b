"""DKIM: keys made by the CLI, signatures that verify against the published key over DNS."""

from __future__ import annotations

import json

import dkim
import pytest

from listd.database import Database
from listd.deliverability.authentication import dkim_dnsfunc
from listd.deliverability.dkim_keys import Algorithm
from listd.deliverability.resolver import make_resolver
from listd.deliverability.signing import (
    DkimKeyring,
    DkimSigner,
    review_carried_signatures,
    strip_broken_signatures,
)
from tests.conftest import CLI, DOMAIN
from tests.support.dns_server import DnsServer
from tests.support.keys import private_key, txt_record

POST = (b"From: Jeanne Dupont <jeanne@example.org>\r\n"
        b"To: news@lists.example.org\r\n"
        b"Subject: [news] Assembly on Friday\r\n"
        b"Date: Mon, 06 May 2024 10:00:00 +0200\r\n"
        b"Message-ID: <assembly@example.org>\r\n"
        b"List-Id: <news.lists.example.org>\r\n"
        b"List-Unsubscribe: <https://lists.example.org/unsubscribe/abc>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"The assembly is on Friday at 18:00.\r\n")


def verifies(message: bytes, dns_server: DnsServer) -> bool:
    return bool(dkim.verify(message, dnsfunc=dkim_dnsfunc(make_resolver(dns_server.config))))


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_a_signed_message_verifies_against_the_published_key(algorithm: Algorithm) -> None:
    pem = private_key(algorithm)
    zone = {f"sel._domainkey.{DOMAIN}": {"TXT": [txt_record(algorithm, pem)]}}
    signer = DkimSigner.from_pem(DOMAIN, "sel", algorithm, pem)
    with DnsServer(zone) as dns_server:
        signed = signer.sign(POST) + POST
        assert verifies(signed, dns_server)
        header = signed.split(b"\r\n\r\n")[0].decode()
        signed_list = header.split(" h=")[1].split(";")[0].replace("\r\n", "").replace(" ", "")
        assert signed_list.lower().split(":").count("from") == 2, "From is oversigned"
        assert "list-unsubscribe-post" in signed_list.lower()
        assert "reply-to" not in signed_list.lower(), "only headers that are present"
        # A second From added on the way breaks the signature.
        forged = signed.replace(b"Subject:", b"From: mallory@evil.example\r\nSubject:", 1)
        assert not verifies(forged, dns_server)


def test_keygen_stores_the_key_and_prints_a_record_that_verifies(listd_cli: CLI,
                                                                 db: Database) -> None:
    result = listd_cli.ok("dkim", "keygen", DOMAIN, "--selector", "s2024", "--json")
    row = json.loads(result.output)
    assert row["name"] == f"s2024._domainkey.{DOMAIN}"
    assert row["value"].startswith("v=DKIM1; k=rsa; p=")
    assert all(len(s) <= 255 for s in row["strings"]) and len(row["strings"]) > 1
    text = listd_cli.ok("dkim", "keygen", DOMAIN, "--selector", "ed", "--algorithm",
                        "ed25519").output
    assert f"ed._domainkey.{DOMAIN}. IN TXT" in text and "k=ed25519" in text

    again = listd_cli("dkim", "keygen", DOMAIN, "--selector", "ed")
    assert again.exit_code == 1 and "already has a DKIM key" in again.stderr
    unknown = listd_cli("dkim", "keygen", "elsewhere.example")
    assert unknown.exit_code == 1 and "does not serve" in unknown.stderr

    # The newest key signs, and verifies against the record keygen printed.
    record = " ".join(f'"{s}"' for s in json.loads(listd_cli.ok(
        "dkim", "keygen", DOMAIN, "--selector", "last", "--json").output)["strings"])
    signer = DkimKeyring(db).signer_for(DOMAIN)
    assert signer is not None and signer.selector == "last"
    with DnsServer({f"last._domainkey.{DOMAIN}": {"TXT": [record]}}) as dns_server:
        assert verifies(signer.sign(POST) + POST, dns_server)


def test_a_running_keyring_signs_with_a_new_key_at_once(db: Database, listd_cli: CLI) -> None:
    # As in a running daemon: the keyring was asked (no key) before `listd dkim keygen` ran.
    keyring = DkimKeyring(db)
    assert keyring.signer_for(DOMAIN) is None
    listd_cli.ok("dkim", "keygen", DOMAIN, "--selector", "first")
    first = keyring.signer_for(DOMAIN)
    assert first is not None and first.selector == "first"
    assert keyring.signer_for(DOMAIN) is first  # the parsed key is kept while it is current
    listd_cli.ok("dkim", "keygen", DOMAIN, "--selector", "second")
    second = keyring.signer_for(DOMAIN)
    assert second is not None and second.selector == "second"


def test_the_keyring_knows_a_domain_without_a_key(db: Database) -> None:
    assert DkimKeyring(db).signer_for("nokey.example") is None


def test_a_carried_signature_stays_only_while_what_it_signs_is_unchanged() -> None:
    pem = private_key(Algorithm.RSA, "author")
    author = DkimSigner.from_pem("example.org", "a", Algorithm.RSA, pem)
    original = author.sign(POST) + POST
    untouched = b"Precedence: list\r\n" + original
    assert [v.intact for v in review_carried_signatures(original, untouched)] == [True]
    assert strip_broken_signatures(original, untouched) == untouched

    with_footer = untouched + b"-- \r\nnews mailing list\r\n"
    verdicts = review_carried_signatures(original, with_footer)
    assert [v.intact for v in verdicts] == [False] and "body" in verdicts[0].reason
    assert b"DKIM-Signature" not in strip_broken_signatures(original, with_footer)

    retitled = untouched.replace(b"Subject: [news] Assembly", b"Subject: [news] [news] Assembly")
    verdicts = review_carried_signatures(original, retitled)
    assert [v.intact for v in verdicts] == [False] and "subject" in verdicts[0].reason
    stripped = strip_broken_signatures(original, retitled)
    assert b"DKIM-Signature" not in stripped and stripped.endswith(POST.split(b"\r\n\r\n")[1])


@pytest.mark.parametrize("algorithm", list(Algorithm))
@pytest.mark.parametrize(("domain", "selector"), [
    (DOMAIN, "sel"), ("lists." + "x" * 50 + ".example.com", "s" * 30), ("a.io", "2026")])
def test_each_recipients_signature_is_dkimpys_own_signature_of_their_copy(
        algorithm: Algorithm, domain: str, selector: str) -> None:
    """The template lays the signature field out once and puts each recipient's bh= and b=
    in: byte for byte what dkimpy makes of that recipient's whole copy."""
    pem = private_key(algorithm)
    post = POST.replace(b"/abc", b"/PLACEHOLDER")
    signer = DkimSigner.from_pem(domain, selector, algorithm, pem)
    for token in (b"", b"t0k3n", b"x" * 90):
        copy = post.replace(b"PLACEHOLDER", token)
        for _ in range(3):  # dkimpy stamps t= with the clock: both within the same second
            ours = signer.template(post, b"PLACEHOLDER").signature(token)
            theirs = dkim.sign(copy, selector.encode(), domain.encode(), signer.key,
                               identity=b"@" + domain.encode(),
                               canonicalize=(b"relaxed", b"relaxed"),
                               include_headers=list(signer.template(post).include),
                               signature_algorithm=algorithm.dkim_name)
            if ours.split(b"t=")[1][:10] == theirs.split(b"t=")[1][:10]:
                break
        assert ours == theirs
