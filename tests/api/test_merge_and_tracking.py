"""Merge fields and link tracking in posts sent through the API, end to end: a real
`listd serve` relaying to the SMTP sink, DKIM checked against the test DNS, and a real HTTP
client following the tracked links."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.lists import find_list, set_list_setting
from listd.members import add_member
from listd.models import OutboundMessage
from listd.runtime import Runtime
from listd.serve import Daemon
from listd.tracking.clicks import clicks_per_link, member_clicks
from tests.api.conftest import NEWS, OWNER, bearer, make_key
from tests.conftest import with_relay
from tests.deliverability.test_deliverability_e2e import publish_list_key, verifies
from tests.support.client import in_thread, send
from tests.support.dns_server import DnsServer, Zone
from tests.support.lists import make_list
from tests.support.sink import Received, Sink
from tests.support.waiting import wait_until

SCRIPT = "<script>alert(1)</script>"
MEMBERS = {"ann@example.org": "Ann Émond", "bob@example.net": SCRIPT,
           "cyd@example.com": ""}
BASE = "https://lists.example.org"
KEYS: list[dict[str, str]] = []


@pytest.fixture
async def served(config: Config, db: Database, clock: OffsetClock,
                 sink: Sink) -> AsyncIterator[Daemon]:
    """listd relaying to the sink, with an https base_url (one-click and tracked links)."""
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,))
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        for address, name in MEMBERS.items():
            add_member(session, mailing_list, address, name)
    chosen = dataclasses.replace(with_relay(config, sink),
                                 http=dataclasses.replace(config.http, base_url=BASE))
    daemon = Daemon(Runtime.create(chosen, db, clock))
    await daemon.start()
    yield daemon
    await daemon.stop()


@pytest.fixture
async def api(served: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.http_port}",
                                 timeout=30) as client:
        yield client


async def post(api: httpx.AsyncClient, db: Database, **body: str) -> httpx.Response:
    key = bearer(make_key(db, f"crm-{len(KEYS)}", NEWS))
    KEYS.append(key)
    return await api.post(f"/api/v1/lists/{NEWS}/posts", headers=key,
                          json={"from": OWNER, **body})


async def copies(sink: Sink, subject: str) -> dict[str, Received]:
    def found() -> dict[str, Received]:
        got = {m.recipients[0]: m for m in sink.received if subject in m.raw.decode("utf-8")}
        return got if len(got) == len(MEMBERS) else {}
    return await wait_until(found, timeout=30, what=f"every member's copy of {subject!r}")


def parts(mail: Received) -> tuple[str, str]:
    message = mail.message
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


async def test_merge_fields_are_filled_per_recipient_escaped_in_html_and_signed(
        api: httpx.AsyncClient, db: Database, sink: Sink, zone: Zone,
        dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    answer = await post(api, db, subject="News for {{ name }}",
                        text="Dear {{ name }} <{{ address }}>, this is {{ list_name }} "
                             "({{ list_address }}).\nLeave: {{ unsubscribe_url }}\n",
                        html="<p>Dear {{name}} &lt;{{ address }}&gt;</p>"
                             '<p><a href="{{ unsubscribe_url }}">leave</a></p>')
    assert answer.status_code == 202, answer.text
    received = await copies(sink, "News for")
    leaves = set()
    for address, mail in received.items():
        assert verifies(mail.raw, dns_server), address
        name = MEMBERS[address]
        text, html = parts(mail)
        assert f"Dear {name} <{address}>, this is news ({NEWS})." in text
        leave = re.search(r"Leave: (\S+)", text)
        assert leave is not None and leave.group(1).startswith(f"{BASE}/unsubscribe/")
        leaves.add(leave.group(1))
        assert f'<a href="{leave.group(1)}">leave</a>' in html
        assert str(mail.message["Subject"]) == f"[news] News for {name}"
    bob_text, bob_html = parts(received["bob@example.net"])
    assert SCRIPT in bob_text, "text/plain carries the name verbatim"
    assert "<script>" not in bob_html
    assert "Dear &lt;script&gt;alert(1)&lt;/script&gt; &lt;bob@example.net&gt;" in bob_html
    assert len(leaves) == len(MEMBERS), "each member gets an unsubscribe link of their own"


async def test_a_name_cannot_inject_a_header(api: httpx.AsyncClient, db: Database,
                                             sink: Sink) -> None:
    with db.session() as session:
        member = add_member(session, find_list(session, NEWS), "eve@example.org",
                            "Eve\r\nBcc: victim@example.org")
        assert member.display_name
    MEMBERS_WITH_EVE = len(MEMBERS) + 1
    await post(api, db, subject="Hi {{ name }}", text="Hello")
    mails = await wait_until(
        lambda: len([m for m in sink.received if b"Hi " in m.raw]) >= MEMBERS_WITH_EVE
        and [m for m in sink.received if m.recipients == ["eve@example.org"]],
        timeout=30, what="Eve's copy")
    message = mails[0].message
    assert message["Bcc"] is None
    assert str(message["Subject"]) == "[news] Hi Eve Bcc: victim@example.org"


async def test_unknown_fields_are_refused_when_submitted(api: httpx.AsyncClient,
                                                         db: Database) -> None:
    answer = await post(api, db, subject="Hello", text="Dear {{ nmae }}")
    assert answer.status_code == 422
    assert answer.json()["field"] == "text"
    assert "{{ nmae }}" in answer.json()["detail"] and "{{ name }}" in answer.json()["detail"]
    in_subject = await post(api, db, subject="Hi {{ name | upper }}", text="x")
    assert in_subject.status_code == 422 and in_subject.json()["field"] == "subject"


async def test_a_post_by_mail_keeps_its_braces_and_a_plain_post_is_rendered_once(
        served: Daemon, api: httpx.AsyncClient, db: Database, config: Config,
        sink: Sink) -> None:
    with db.session() as session:
        set_list_setting(session, NEWS, "posting", "anyone")
    await in_thread(send, served.port, "ann@example.org", [NEWS],
                    (f"From: ann@example.org\r\nTo: {NEWS}\r\nSubject: By mail\r\n"
                     f"Message-ID: <bymail@example.org>\r\n\r\n"
                     "Hello {{ name }}, https://example.com/page\r\n").encode())
    by_mail = await copies(sink, "By mail")
    for mail in by_mail.values():
        assert "Hello {{ name }}, https://example.com/page" in mail.message.get_content()
    await post(api, db, subject="Plain", text="Nothing personal")
    await copies(sink, "Plain")
    with db.reading() as session:
        raws = [o.raw for o in session.query(OutboundMessage).filter(
            OutboundMessage.kind == "post")]
    assert all(b"LISTDMERGE" not in raw for raw in raws)


async def test_tracking_is_off_by_default_so_links_are_untouched(
        api: httpx.AsyncClient, db: Database, sink: Sink) -> None:
    await post(api, db, subject="Links", text="See https://example.com/a?x=1&y=2.",
               html='<a href="https://example.com/a?x=1&amp;y=2">a</a>')
    for mail in (await copies(sink, "Links")).values():
        text, html = parts(mail)
        assert "See https://example.com/a?x=1&y=2." in text
        assert 'href="https://example.com/a?x=1&amp;y=2"' in html
        assert "/r/" not in text + html


def tracked(text: str) -> list[str]:
    return re.findall(re.escape(BASE) + r"/r/[\w-]+(?:\.[\w-]+)?", text)


async def test_tracked_links_redirect_count_clicks_and_refuse_forged_tokens(
        api: httpx.AsyncClient, db: Database, sink: Sink) -> None:
    with db.session() as session:
        set_list_setting(session, NEWS, "tracking", "aggregate")
    sent = await post(api, db, subject="Tracked",
               text="Read https://example.com/a?x=1&y=2. And https://example.org/b\n",
               html='<p><a href="https://example.com/a?x=1&amp;y=2">a</a> '
                    '<a href="https://example.org/b">b</a></p>')
    received = await copies(sink, "Tracked")
    text, html = parts(received["ann@example.org"])
    links = tracked(text)
    assert len(links) == 2 and text.count("example.com") == 0
    assert f'href="{links[0]}"' in html and f'href="{links[1]}"' in html
    assert tracked(parts(received["bob@example.net"])[0]) == links, \
        "aggregate: every member gets the same links"
    assert f"{BASE}/unsubscribe/" not in "".join(links), "listd's own links are left alone"
    for _ in range(2):
        first = await api.get(links[0].removeprefix(BASE))
        assert first.status_code == 302
        assert first.headers["location"] == "https://example.com/a?x=1&y=2"
    second = await api.get(links[1].removeprefix(BASE))
    assert second.headers["location"] == "https://example.org/b"
    token = links[1].removeprefix(f"{BASE}/r/")
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (altered, "aGVsbG8", "x" * 40, token[:20]):
        refused = await api.get(f"/r/{bad}")
        assert refused.status_code == 404 and "location" not in refused.headers
    with db.reading() as session:
        outbound = session.query(OutboundMessage).filter(OutboundMessage.kind == "post").one()
        counted = clicks_per_link(session, outbound.id)
        assert [(c.url, c.clicks, c.members) for c in counted] == [
            ("https://example.com/a?x=1&y=2", 2, None), ("https://example.org/b", 1, None)]
        assert member_clicks(session, outbound.id) == []
    state = (await api.get(f"/api/v1/lists/{NEWS}/posts/{sent.json()['id']}",
                           headers=KEYS[-1])).json()
    assert state["clicks"] == [
        {"link": 1, "url": "https://example.com/a?x=1&y=2", "clicks": 2, "members": None},
        {"link": 2, "url": "https://example.org/b", "clicks": 1, "members": None}]
    # The post's report (`listd post report`, the owners' page) counts the same clicks.
    report = (await api.get(f"/api/v1/lists/{NEWS}/reports/{outbound.id}",
                            headers=KEYS[-1])).json()
    assert report["clicks"] == state["clicks"]


async def test_per_member_tracking_records_who_clicked(
        api: httpx.AsyncClient, db: Database, sink: Sink, zone: Zone,
        dns_server: DnsServer) -> None:
    publish_list_key(db, zone)
    with db.session() as session:
        set_list_setting(session, NEWS, "tracking", "per_member")
    await post(api, db, subject="Who", html='<a href="https://example.com/c">c</a>',
               text="https://example.com/c")
    received = await copies(sink, "Who")
    ann, bob = (tracked(parts(received[a])[1])[0] for a in ("ann@example.org",
                                                            "bob@example.net"))
    assert ann != bob
    assert all(verifies(m.raw, dns_server) for m in received.values())
    assert (await api.get(ann.removeprefix(BASE))).status_code == 302
    assert (await api.get(bob.removeprefix(BASE))).status_code == 302
    # Another member's id spliced onto Ann's link is not believed: counted, nobody named.
    forged = ann.rsplit(".", 1)[0] + "." + bob.rsplit(".", 1)[1][:-2] + "zz"
    assert (await api.get(forged.removeprefix(BASE))).status_code == 302
    with db.reading() as session:
        outbound = session.query(OutboundMessage).filter(OutboundMessage.kind == "post").one()
        assert [(c.clicks, c.members) for c in clicks_per_link(session, outbound.id)] == [
            (3, 2)]
        assert sorted(member_clicks(session, outbound.id)) == [
            ("ann@example.org", "https://example.com/c"),
            ("bob@example.net", "https://example.com/c")]
