"""Deliverability in the fan-out, end to end: a real listd, a real SMTP sink, the test DNS.

What the sink catches must verify with dkimpy against the key published in DNS: posts (signed
once, or per recipient with one-click unsubscribe), listd's own replies, DMARC-mitigated posts
and ARC seals; the one-click URL of a delivered message must unsubscribe its recipient.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage
from urllib.parse import urlsplit

import dkim
import httpx
import pytest
from sqlalchemy import select

from listd.clock import OffsetClock
from listd.config import ArcConfig, Config
from listd.database import Database
from listd.deliverability.authentication import dkim_dnsfunc
from listd.deliverability.dkim_keys import Algorithm, create_key, dns_record
from listd.deliverability.resolver import make_resolver
from listd.deliverability.signing import DkimSigner
from listd.lists import find_list
from listd.members import find_member, set_delivery_mode
from listd.models import DeliveryMode, HeldMessage, Role
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import DOMAIN, with_relay
from tests.support.client import in_thread, send
from tests.support.dns_server import DnsServer, Zone
from tests.support.keys import private_key, txt_record
from tests.support.lists import make_list
from tests.support.sink import Received, Sink
from tests.support.waiting import wait_until

NEWS = f"news@{DOMAIN}"
POSTER = "poster@example.org"
MEMBERS = ("ann@example.com", "bob@example.net", "cyd@example.com")

DaemonFactory = Callable[..., "AsyncIterator[Daemon]"]


def publish_list_key(db: Database, zone: Zone) -> None:
    """`listd dkim keygen DOMAIN`, and its record in DNS."""
    with db.session() as session:
        key = create_key(session, DOMAIN, "listd", Algorithm.RSA)
        record = dns_record(key)
    zone[record.name] = {"TXT": [" ".join(f'"{s}"' for s in record.strings)]}


def verifies(raw: bytes, dns_server: DnsServer) -> bool:
    return bool(dkim.verify(raw, dnsfunc=dkim_dnsfunc(make_resolver(dns_server.config))))


def signed_headers(raw: bytes) -> list[str]:
    header = raw.split(b"\r\n\r\n")[0].decode()
    h = re.search(r"DKIM-Signature:.*?\bh=([^;]+);", header, re.S)
    assert h is not None
    return [name.strip().lower() for name in h.group(1).split(":")]


def post(subject: str = "Assembly", sender: str = POSTER, headers: str = "") -> bytes:
    return (f"From: Jeanne <{sender}>\r\nTo: {NEWS}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 06 May 2024 10:00:00 +0200\r\nMessage-ID: <{subject}@example.org>\r\n"
            f"{headers}\r\nThe assembly is on Friday.\r\n").encode()


@pytest.fixture
async def start(config: Config, db: Database, clock: OffsetClock,
                sink: Sink) -> AsyncIterator[Callable[..., object]]:
    """Starts listd relaying to the sink, with config changes; stops it afterwards."""
    daemons: list[Daemon] = []

    async def starter(**changes: object) -> Daemon:
        http = dataclasses.replace(config.http, base_url=changes.pop("base_url", None))
        chosen = dataclasses.replace(with_relay(config, sink), http=http, **changes)
        daemon = Daemon(Runtime.create(chosen, db, clock))
        await daemon.start()
        daemons.append(daemon)
        return daemon

    yield starter
    for daemon in daemons:
        await daemon.stop()


async def delivered(sink: Sink, count: int) -> list[Received]:
    return await wait_until(lambda: len(sink.received) >= count and sink.received,
                            timeout=20, what=f"{count} mails at the sink")


async def test_a_personal_fan_out_is_signed_per_recipient_and_verifies(
        start: Callable[..., object], db: Database, config: Config, sink: Sink, zone: Zone,
        dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS)
    daemon = await start(base_url="https://lists.example.org")  # type: ignore[misc]
    await in_thread(send, daemon.port, POSTER, [NEWS], post())

    received = await delivered(sink, len(MEMBERS))
    unsubscribes = set()
    for mail in received:
        assert verifies(mail.raw, dns_server), mail.recipients
        names = signed_headers(mail.raw)
        for name in ("from", "subject", "date", "message-id", "to", "list-id",
                     "list-unsubscribe", "list-unsubscribe-post"):
            assert name in names
        message = mail.message
        one_click, mailto = (v.strip() for v in message["List-Unsubscribe"].split(","))
        assert one_click.startswith("<https://lists.example.org/unsubscribe/")
        assert mailto == f"<mailto:news-leave@{DOMAIN}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribes.add(one_click)
    assert len(unsubscribes) == len(MEMBERS), "each member gets a token of their own"


async def test_without_one_click_a_post_is_signed_once_for_all(
        start: Callable[..., object], db: Database, config: Config, sink: Sink, zone: Zone,
        dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS)
    daemon = await start()  # type: ignore[misc]
    await in_thread(send, daemon.port, POSTER, [NEWS], post())

    received = await delivered(sink, len(MEMBERS))
    signatures = {mail.message["DKIM-Signature"] for mail in received}
    assert len(signatures) == 1, "one signature, made once, for every recipient"
    assert all(verifies(mail.raw, dns_server) for mail in received)
    assert received[0].message["List-Unsubscribe"] == f"<mailto:news-leave@{DOMAIN}>"
    assert received[0].message["List-Unsubscribe-Post"] is None


async def test_listd_own_mail_is_signed_too(start: Callable[..., object], db: Database,
                                            config: Config, sink: Sink, zone: Zone,
                                            dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    make_list(db, config, NEWS)
    daemon = await start()  # type: ignore[misc]
    help_request = (f"From: {POSTER}\r\nTo: news-request@{DOMAIN}\r\nSubject: help\r\n"
                    f"Message-ID: <help-1@example.org>\r\n\r\nhelp\r\n").encode()
    await in_thread(send, daemon.port, POSTER, [f"news-request@{DOMAIN}"], help_request)

    [reply] = await delivered(sink, 1)
    assert reply.recipients == [POSTER]
    assert f"d={DOMAIN}" in reply.message["DKIM-Signature"].replace(" ", "")
    assert verifies(reply.raw, dns_server)


@pytest.mark.parametrize("mode", ["munge_from", "wrap"])
async def test_a_post_from_a_p_reject_domain_is_mitigated_and_still_verifies(
        mode: str, start: Callable[..., object], db: Database, config: Config, sink: Sink,
        zone: Zone, dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    zone["_dmarc.strict.example"] = {"TXT": ['"v=DMARC1; p=reject"']}
    author = "jeanne@strict.example"
    # The author's domain signs the post: listd's changes break that signature.
    pem = private_key(Algorithm.RSA, "strict")
    zone["a._domainkey.strict.example"] = {"TXT": [txt_record(Algorithm.RSA, pem)]}
    original = post(sender=author)
    original = DkimSigner.from_pem("strict.example", "a", Algorithm.RSA, pem).sign(original) \
        + original
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS[:1],
              dmarc_mitigation=mode)
    daemon = await start()  # type: ignore[misc]
    await in_thread(send, daemon.port, author, [NEWS], original)

    [mail] = await delivered(sink, 1)
    message = mail.message
    assert verifies(mail.raw, dns_server)
    assert message["From"].addresses[0].addr_spec == NEWS
    assert "via" in message["From"].addresses[0].display_name
    # The author stays reachable: in Cc, since this list's replies go to the list.
    assert message["Reply-To"].addresses[0].addr_spec == NEWS
    assert author in [a.addr_spec for a in message["Cc"].addresses]
    if mode == "munge_from":
        assert message.get_all("DKIM-Signature") and len(message.get_all("DKIM-Signature")) == 1
        assert f"d={DOMAIN}" in message["DKIM-Signature"].replace(" ", "")
    else:
        assert message.get_content_type() == "multipart/mixed"
        inner = next(p for p in message.iter_parts() if p.get_content_type() == "message/rfc822")
        wrapped = inner.get_content()
        assert isinstance(wrapped, EmailMessage) and wrapped["From"] == f"Jeanne <{author}>"


async def test_a_post_from_a_relaxed_domain_is_left_alone(
        start: Callable[..., object], db: Database, config: Config, sink: Sink,
        zone: Zone) -> None:
    zone["_dmarc.example.org"] = {"TXT": ['"v=DMARC1; p=none"']}
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS[:1])
    daemon = await start()  # type: ignore[misc]
    await in_thread(send, daemon.port, POSTER, [NEWS], post())
    [mail] = await delivered(sink, 1)
    assert mail.message["From"] == f"Jeanne <{POSTER}>"


async def test_forwarded_posts_are_arc_sealed(start: Callable[..., object], db: Database,
                                              config: Config, sink: Sink, zone: Zone,
                                              dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS[:2])
    daemon = await start(arc=ArcConfig(domains=(DOMAIN,)))  # type: ignore[misc]
    await in_thread(send, daemon.port, POSTER, [NEWS], post())

    received = await delivered(sink, 2)
    dnsfunc = dkim_dnsfunc(make_resolver(dns_server.config))
    for mail in received:
        assert mail.message["ARC-Seal"] is not None
        assert f"{DOMAIN}; " in mail.message["ARC-Authentication-Results"]
        cv, _results, reason = dkim.arc_verify(mail.raw, dnsfunc=dnsfunc)
        assert cv == dkim.CV_Pass, reason
        assert verifies(mail.raw, dns_server)


async def test_the_one_click_url_of_a_delivered_mail_unsubscribes_on_post_only(
        start: Callable[..., object], db: Database, config: Config, sink: Sink) -> None:
    make_list(db, config, NEWS, posting="anyone", subscribers=MEMBERS)
    daemon = await start(base_url="https://lists.example.org")  # type: ignore[misc]
    await in_thread(send, daemon.port, POSTER, [NEWS], post())
    received = await delivered(sink, len(MEMBERS))
    mail = next(m for m in received if m.recipients == [MEMBERS[1]])
    url = mail.message["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    path = urlsplit(url).path

    def subscribed(address: str) -> bool:
        with db.reading() as session:
            return find_member(session, find_list(session, NEWS), address,
                               Role.SUBSCRIBER) is not None

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}") as http:
        page = await http.get(path)
        assert page.status_code == 200 and subscribed(MEMBERS[1])
        done = await http.post(path, data={"List-Unsubscribe": "One-Click"},
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "is unsubscribed" in done.text
    assert not subscribed(MEMBERS[1])
    assert subscribed(MEMBERS[0]) and subscribed(MEMBERS[2])


def held(db: Database) -> list[HeldMessage]:
    with db.reading() as session:
        return list(session.scalars(select(HeldMessage)))


async def test_an_unauthenticated_post_claiming_an_owner_from_is_held(
        start: Callable[..., object], db: Database, config: Config, sink: Sink,
        zone: Zone) -> None:
    owner = "owner@example.org"
    make_list(db, config, NEWS, template="newsletter", owners=(owner,),
              subscribers=MEMBERS[:1], require_owner_authentication=True)
    daemon = await start()  # type: ignore[misc]
    await in_thread(send, daemon.port, owner, [NEWS], post("Forged", sender=owner))
    [row] = await wait_until(lambda: held(db), timeout=20, what="the post held")
    assert row.rule == "owner-authentication"
    assert "not authenticated" in row.reason

    # Signed by the owner's domain, with the key in DNS: the owner's post goes out.
    pem = private_key(Algorithm.RSA, "owner")
    zone["o._domainkey.example.org"] = {"TXT": [txt_record(Algorithm.RSA, pem)]}
    genuine = post("Genuine", sender=owner)
    genuine = DkimSigner.from_pem("example.org", "o", Algorithm.RSA, pem).sign(genuine) + genuine
    await in_thread(send, daemon.port, owner, [NEWS], genuine)
    [mail] = await wait_until(lambda: sink.to(MEMBERS[0]), timeout=20, what="the post")
    assert "Genuine" in mail.message["Subject"] and len(held(db)) == 1


def test_the_setting_is_off_by_default_so_owners_post_as_before(db: Database,
                                                                 config: Config) -> None:
    from listd.settings import ListSettings

    make_list(db, config, NEWS)
    with db.reading() as session:
        assert ListSettings.of(find_list(session, NEWS)).require_owner_authentication is False


async def test_a_signature_by_a_neighbour_under_a_public_suffix_does_not_pass_for_the_owner(
        start: Callable[..., object], db: Database, config: Config, sink: Sink,
        zone: Zone) -> None:
    """attacker.me.uk and victim.me.uk are two registrants under the public suffix me.uk: a
    DKIM signature by the one is no DMARC pass for the other's From."""
    owner = "owner@victim.me.uk"
    make_list(db, config, NEWS, template="newsletter", owners=(owner,),
              subscribers=MEMBERS[:1], require_owner_authentication=True)
    attacker_key, victim_key = (private_key(Algorithm.RSA, "attacker"),
                                private_key(Algorithm.RSA, "victim"))
    zone["_dmarc.victim.me.uk"] = {"TXT": ['"v=DMARC1; p=reject"']}
    zone["a._domainkey.attacker.me.uk"] = {"TXT": [txt_record(Algorithm.RSA, attacker_key)]}
    zone["v._domainkey.mail.victim.me.uk"] = {"TXT": [txt_record(Algorithm.RSA, victim_key)]}
    daemon = await start()  # type: ignore[misc]

    forged = post("Forged", sender=owner)
    forged = DkimSigner.from_pem("attacker.me.uk", "a", Algorithm.RSA,
                                 attacker_key).sign(forged) + forged
    await in_thread(send, daemon.port, owner, [NEWS], forged)
    [row] = await wait_until(lambda: held(db), timeout=20, what="the forged post held")
    assert row.rule == "owner-authentication"
    assert "DKIM passed for attacker.me.uk" in row.reason and "DMARC fail" in row.reason

    # The owner's own organization signing from a subdomain aligns (relaxed): it goes out.
    genuine = post("Genuine", sender=owner)
    genuine = DkimSigner.from_pem("mail.victim.me.uk", "v", Algorithm.RSA,
                                  victim_key).sign(genuine) + genuine
    await in_thread(send, daemon.port, owner, [NEWS], genuine)
    [mail] = await wait_until(lambda: sink.to(MEMBERS[0]), timeout=20, what="the post")
    assert "Genuine" in mail.message["Subject"] and len(held(db)) == 1


async def test_digests_are_signed_per_recipient_with_one_click_like_posts(
        start: Callable[..., object], db: Database, config: Config, sink: Sink, zone: Zone,
        dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    readers = {mode: f"{mode.value}@example.com" for mode in
               (DeliveryMode.DIGEST, DeliveryMode.DIGESTPLAIN, DeliveryMode.SUMMARY)}
    make_list(db, config, NEWS, posting="anyone", subscribers=tuple(readers.values()),
              digest_frequency="never", digest_max_posts=1)
    with db.session() as session:
        for mode, address in readers.items():
            set_delivery_mode(session, find_list(session, NEWS), address, mode)
    daemon = await start(base_url="https://lists.example.org")  # type: ignore[misc]
    await in_thread(send, daemon.port, POSTER, [NEWS], post())

    received = await delivered(sink, len(readers))
    assert sorted(m.recipients[0] for m in received) == sorted(readers.values())
    tokens = set()
    for mail in received:
        assert verifies(mail.raw, dns_server), mail.recipients
        assert "list-unsubscribe" in signed_headers(mail.raw)
        assert str(mail.message["Subject"]) == "[news] Digest, Vol 1, Issue 1"
        one_click = mail.message["List-Unsubscribe"].split(",")[0].strip()
        assert one_click.startswith("<https://lists.example.org/unsubscribe/")
        assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        tokens.add(one_click)
    assert len(tokens) == len(readers), "each reader gets a token of their own"
