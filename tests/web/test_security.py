"""The web door's defences through a real HTTP client on a real `listd serve` (in this test's
loop): cookie flags, the safe headers on every page, rate limits, passwords, and the rights of
moderators and owners."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from listd import lists, members
from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.models import AuditEntry, RateEvent, Role
from listd.runtime import Runtime
from listd.serve import Daemon
from listd.web import antibot, sessions
from listd.web.purge import purge_web_state
from tests.support.lists import make_list
from tests.support.maildir import read_outbox
from tests.support.waiting import wait_until

NEWS = "news@lists.example.org"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


async def _csrf(client: httpx.AsyncClient, path: str = "/signin") -> str:
    found = CSRF.search((await client.get(path)).text)
    assert found is not None
    return found.group(1)


async def _mails_to(config: Config, address: str, at_least: int = 1) -> list[str]:
    def found() -> list[str]:
        texts = [w.raw.decode() for w in read_outbox(_outbox(config))
                 if w.recipient == address]
        return texts if len(texts) >= at_least else []

    return await wait_until(found, timeout=20, what=f"mail to {address}")


async def sign_in(client: httpx.AsyncClient, config: Config, address: str) -> httpx.Response:
    before = len([w for w in read_outbox(_outbox(config)) if w.recipient == address])
    await client.post("/signin", data={"csrf": await _csrf(client), "address": address})
    mail = (await _mails_to(config, address, before + 1))[-1]
    link = re.search(r"/signin/[a-z0-9]+", mail)
    assert link is not None
    csrf = await _csrf(client, link.group(0))
    return await client.post(link.group(0), data={"csrf": csrf})


def _outbox(config: Config) -> Path:
    return Path(str(config.outbound.path))


@pytest.fixture
async def https_daemon(config: Config, db: Database, clock: OffsetClock
                       ) -> AsyncIterator[Daemon]:
    secure = dataclasses.replace(config, http=dataclasses.replace(
        config.http, base_url="https://lists.example.org"))
    server = Daemon(Runtime.create(secure, db, clock))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}") as opened:
        yield opened


async def test_session_cookies_are_httponly_lax_and_not_secure_over_http(
        client: httpx.AsyncClient, config: Config) -> None:
    answer = await sign_in(client, config, "jeanne@example.org")
    assert answer.status_code == 303
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith("listd_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert (await client.get("/my")).status_code == 200


async def test_cookies_are_secure_when_base_url_is_https(https_daemon: Daemon) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{https_daemon.http_port}") as c:
        answer = await c.get("/signin")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("listd_visitor=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize("path", ["/", "/lists", "/signin", f"/lists/{NEWS}", "/nowhere",
                                  "/lists/nothing@lists.example.org", "/static/work.js"])
async def test_every_page_sends_the_safe_headers(client: httpx.AsyncClient, config: Config,
                                                 db: Database, path: str) -> None:
    make_list(db, config, NEWS)
    answer = await client.get(path)
    assert answer.headers["content-security-policy"].startswith("default-src 'self';")
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "Traceback" not in answer.text


async def test_sign_in_mail_is_rate_limited_per_address(client: httpx.AsyncClient,
                                                        config: Config) -> None:
    statuses = []
    for _ in range(7):
        answer = await client.post("/signin", data={"csrf": await _csrf(client),
                                                    "address": "victim@example.org"})
        statuses.append(answer.status_code)
    assert statuses == [200] * 5 + [429] * 2
    await _mails_to(config, "victim@example.org", 5)
    assert len([w for w in read_outbox(_outbox(config))
                if w.recipient == "victim@example.org"]) == 5


async def test_a_password_chosen_from_my_signs_in(client: httpx.AsyncClient, config: Config,
                                                  daemon: Daemon) -> None:
    await sign_in(client, config, "jeanne@example.org")
    short = await client.post("/my/password", data={"csrf": await _csrf(client, "/my"),
                                                     "password": "short"})
    assert short.status_code == 400
    saved = await client.post("/my/password", data={"csrf": await _csrf(client, "/my"),
                                                     "password": "correct horse battery"})
    assert saved.status_code == 303
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        answers = []
        for address, password in (("jeanne@example.org", "wrong password!"),
                                  ("nobody@example.org", "correct horse battery")):
            answers.append(await other.post("/signin/password", data={
                "csrf": await _csrf(other), "address": address, "password": password}))
        assert [a.status_code for a in answers] == [400, 400]
        assert "do not match" in answers[0].text and "do not match" in answers[1].text
        good = await other.post("/signin/password", data={
            "csrf": await _csrf(other), "address": "jeanne@example.org",
            "password": "correct horse battery"})
        assert good.status_code == 303
        assert "jeanne@example.org" in (await other.get("/my")).text
    with daemon.runtime.db.reading() as session:
        stored = session.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "web.password_set"))
    assert stored == "jeanne@example.org"


async def test_a_moderator_sees_only_the_moderation_pages(client: httpx.AsyncClient,
                                                          config: Config, db: Database) -> None:
    make_list(db, config, NEWS, moderators=("mod@example.org",))
    await sign_in(client, config, "mod@example.org")
    assert (await client.get(f"/lists/{NEWS}/admin/moderation")).status_code == 200
    admin = await client.get(f"/lists/{NEWS}/admin")
    assert admin.status_code == 303
    assert admin.headers["location"].endswith("/admin/moderation")
    for path in ("members", "roles", "bounces", "members.csv"):
        assert (await client.get(f"/lists/{NEWS}/admin/{path}")).status_code == 403, path


async def test_the_last_owner_cannot_be_removed_and_csv_lists_everyone(
        client: httpx.AsyncClient, config: Config, db: Database) -> None:
    make_list(db, config, NEWS, subscribers=("a@example.org", "b@example.org"))
    await sign_in(client, config, "owner@example.org")
    refused = await client.post(f"/lists/{NEWS}/admin/roles", data={
        "csrf": await _csrf(client, f"/lists/{NEWS}/admin/roles"), "role": "owner",
        "action": "remove", "address": "owner@example.org"})
    assert refused.status_code == 400 and "last owner" in refused.text
    with db.reading() as session:
        owners = members.addresses_with_role(session, lists.find_list(session, NEWS), Role.OWNER)
    assert owners == ["owner@example.org"]
    exported = await client.get(f"/lists/{NEWS}/admin/members.csv")
    rows = exported.text.splitlines()
    assert rows[0] == "address,name,role,delivery,status,subscribed_at"
    assert [r.split(",")[0] for r in rows[1:]] == ["a@example.org", "b@example.org",
                                                   "owner@example.org"]


async def test_subscribing_from_the_web_is_rate_limited_and_mails_one_confirmation(
        client: httpx.AsyncClient, config: Config, db: Database) -> None:
    make_list(db, config, NEWS)
    statuses = []
    for _ in range(4):
        # A challenge made five seconds ago with the site's key, as the page would have.
        challenge = antibot.new_challenge(config.secret or "", time.time() - 5)
        answer = await client.post(f"/lists/{NEWS}/subscribe", data={
            "csrf": await _csrf(client, f"/lists/{NEWS}"), "challenge": challenge,
            "work": antibot.solve(challenge), "address": "jeanne@example.org"})
        statuses.append(answer.status_code)
    assert statuses == [200, 200, 200, 429]
    await _mails_to(config, "jeanne@example.org")
    assert len([w for w in read_outbox(_outbox(config))
                if w.recipient == "jeanne@example.org"]) == 1


async def test_a_fresh_or_forged_challenge_is_refused(client: httpx.AsyncClient,
                                                      config: Config, db: Database) -> None:
    make_list(db, config, NEWS)
    # Too young to be a person's (under MIN_AGE): dated ahead, so the time this test takes to
    # solve it on a loaded machine cannot age it past the limit.
    fresh = antibot.new_challenge(config.secret or "", time.time() + 30)
    forged = antibot.new_challenge("another key", time.time() - 5)
    for challenge in (fresh, forged):
        answer = await client.post(f"/lists/{NEWS}/subscribe", data={
            "csrf": await _csrf(client, f"/lists/{NEWS}"), "challenge": challenge,
            "work": antibot.solve(challenge), "address": "jeanne@example.org"})
        assert answer.status_code == 400
    assert [w for w in read_outbox(_outbox(config)) if w.recipient == "jeanne@example.org"] == []


async def test_expired_sessions_and_old_rate_counts_are_purged(
        client: httpx.AsyncClient, config: Config, daemon: Daemon, clock: OffsetClock) -> None:
    await sign_in(client, config, "jeanne@example.org")
    assert (await client.get("/my")).status_code == 200
    runtime = daemon.runtime
    assert purge_web_state(runtime) == 0
    clock.advance(sessions.SESSION_TTL + dt.timedelta(minutes=1))
    # The session is over at once, purged or not.
    assert (await client.get("/my")).status_code == 303
    assert purge_web_state(runtime) == 1 + 2  # the session, and the two sign-in counts
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(RateEvent)) == 0


async def test_the_owner_sees_who_bounces_and_resets_it(client: httpx.AsyncClient,
                                                         config: Config, db: Database) -> None:
    make_list(db, config, NEWS, subscribers=("gone@example.org", "fine@example.org"))
    with db.session() as session:
        bouncing = members.find_member(session, lists.find_list(session, NEWS),
                                       "gone@example.org")
        assert bouncing is not None
        bouncing.bounce_score = 3.0
    await sign_in(client, config, "owner@example.org")
    shown = await client.get(f"/lists/{NEWS}/admin/bounces")
    assert "gone@example.org" in shown.text and "fine@example.org" not in shown.text
    reset = await client.post(f"/lists/{NEWS}/admin/bounces/reset", data={
        "csrf": await _csrf(client, f"/lists/{NEWS}/admin/bounces"),
        "address": "gone@example.org"})
    assert reset.status_code == 303
    assert "Nobody bounces." in (await client.get(f"/lists/{NEWS}/admin/bounces")).text
    with db.reading() as session:
        assert session.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "member.bounce_reset")) == "owner@example.org"


async def test_a_members_archive_opens_to_a_signed_in_member_only(
        client: httpx.AsyncClient, config: Config, db: Database) -> None:
    from listd.archive.store import archive_message
    from listd.lists import find_list

    make_list(db, config, NEWS, subscribers=("jeanne@example.org",), archive="members")
    with db.session() as session:
        archive_message(session, find_list(session, NEWS),
                        b"From: Paul <paul@example.org>\r\nSubject: Members only\r\n"
                        b"Message-ID: <m1@example.org>\r\n\r\nHello\r\n",
                        dt.datetime(2026, 11, 30, 12, 0))
    assert (await client.get(f"/lists/{NEWS}/archive/1")).status_code == 403
    await sign_in(client, config, "stranger@example.org")
    assert (await client.get(f"/lists/{NEWS}/archive/1")).status_code == 403
    client.cookies.clear()
    await sign_in(client, config, "jeanne@example.org")
    opened = await client.get(f"/lists/{NEWS}/archive/1")
    assert opened.status_code == 200 and "Members only" in opened.text
