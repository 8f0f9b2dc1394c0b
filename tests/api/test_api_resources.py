"""Every resource of the API end to end, through `listd serve` and a real HTTP client."""

from __future__ import annotations

import asyncio
import email
from email import policy

import httpx
from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.members import import_members
from listd.models import AuditEntry
from tests.api.conftest import NEWS, OTHER, OWNER, bearer, make_key
from tests.conftest import CLI
from tests.support.outbox import outbox, sent_to, settle
from tests.support.waiting import wait_until


async def test_lists_request_approve_refuse_close_reopen_and_settings(
        api: httpx.AsyncClient, db: Database, config: Config, two_lists: None) -> None:
    key = bearer(make_key(db, "admin"))
    domains = await api.get("/domains", headers=key)
    assert domains.json() == [{"domain": "lists.example.org", "lists": 2}]
    created = await api.post("/lists", headers=key, json={
        "address": "asso@lists.example.org", "owners": ["boss@example.org"],
        "template": "newsletter", "subject": "Our news"})
    assert created.status_code == 201 and created.json()["status"] == "pending"
    pending = await api.get("/lists", params={"status": "pending"}, headers=key)
    assert [row["address"] for row in pending.json()] == ["asso@lists.example.org"]
    approved = await api.post("/lists/asso@lists.example.org/approve", headers=key)
    assert approved.json()["status"] == "active"
    assert (await api.post("/lists/asso@lists.example.org/approve", headers=key)
            ).status_code == 422
    await api.post("/lists", headers=key, json={
        "address": "bad@lists.example.org", "owners": ["boss@example.org"]})
    refused = await api.post("/lists/bad@lists.example.org/refuse", headers=key,
                             json={"reason": "we have one already"})
    assert refused.json()["status"] == "rejected"
    assert (await api.post(f"/lists/{NEWS}/close", headers=key)).json()["status"] == "closed"
    assert (await api.post(f"/lists/{NEWS}/reopen", headers=key)).json()["status"] == "active"
    changed = await api.patch(f"/lists/{OTHER}/settings", headers=key,
                              json={"posting": "moderated", "max_recipients": 3})
    assert changed.status_code == 200
    assert changed.json()["posting"] == "moderated" and changed.json()["max_recipients"] == 3
    wrong = await api.patch(f"/lists/{OTHER}/settings", headers=key,
                            json={"subject": "fine", "posting": "everybody"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "posting"
    assert "posting must be one of" in wrong.json()["detail"]
    settings = (await api.get(f"/lists/{OTHER}/settings", headers=key)).json()
    assert settings["subject"] != "fine", "a refused change applies none of the others"
    unknown = await api.patch(f"/lists/{OTHER}/settings", headers=key, json={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "colour"
    await settle(db, 0)
    assert any("we have one already" in w.message.get_body().get_content()  # type: ignore
               for w in sent_to(config, "boss@example.org"))
    with db.reading() as session:
        by_key = set(session.scalars(select(AuditEntry.action).where(
            AuditEntry.actor == "api:admin")))
    assert {"list.requested", "list.active", "list.rejected", "list.closed",
            "list.set"} <= by_key


async def test_members_add_confirm_change_remove_and_errors(
        api: httpx.AsyncClient, db: Database, config: Config, two_lists: None) -> None:
    key = bearer(make_key(db, "crm", NEWS))
    added = await api.post(f"/lists/{NEWS}/members", headers=key,
                           json={"address": "Dan@Example.org", "name": "Dan Dupont"})
    assert added.status_code == 201 and added.json()["outcome"] == "added"
    assert added.json()["member"]["address"] == "dan@example.org"
    dup = await api.post(f"/lists/{NEWS}/members", headers=key,
                         json={"address": "dan@example.org"})
    assert dup.status_code == 409 and dup.json()["type"] == "/api/v1/problems/conflict"
    bad = await api.post(f"/lists/{NEWS}/members", headers=key, json={"address": "not-an-addr"})
    assert bad.status_code == 422 and "not-an-addr" in bad.json()["detail"]
    missing = await api.post(f"/lists/{NEWS}/members", headers=key, json={"name": "x"})
    assert missing.status_code == 422 and missing.json()["field"] == "address"
    confirm = await api.post(f"/lists/{NEWS}/members", headers=key,
                             json={"address": "eve@example.org", "confirm": True})
    assert confirm.json()["outcome"] == "confirmation-sent"
    again = await api.post(f"/lists/{NEWS}/members", headers=key,
                           json={"address": "eve@example.org", "confirm": True})
    assert again.status_code == 201
    shown = await api.get(f"/lists/{NEWS}/members/eve@example.org", headers=key)
    assert shown.status_code == 404, "a confirmation request adds no one"
    changed = await api.patch(f"/lists/{NEWS}/members/dan@example.org", headers=key,
                              json={"delivery": "nomail"})
    assert changed.json()["delivery"] == "nomail"
    promoted = await api.patch(f"/lists/{NEWS}/members/dan@example.org", headers=key,
                               json={"role": "moderator"})
    assert promoted.json()["role"] == "moderator"
    last_owner = await api.delete(f"/lists/{NEWS}/members/{OWNER}", headers=key,
                                  params={"role": "owner"})
    assert last_owner.status_code == 422 and "last owner" in last_owner.json()["detail"]
    removed = await api.delete(f"/lists/{NEWS}/members/ann@example.org", headers=key)
    assert removed.status_code == 204
    assert (await api.delete(f"/lists/{NEWS}/members/ann@example.org", headers=key)
            ).status_code == 404
    await settle(db, 0)
    requests = sent_to(config, "eve@example.org")
    assert len(requests) == 1, "a second request while one waits sends nothing"
    assert "confirm" in requests[0].message["Subject"].lower() or \
        "confirm" in requests[0].message.get_body().get_content().lower()  # type: ignore


async def test_pagination_search_import_and_export(api: httpx.AsyncClient, db: Database,
                                                   two_lists: None) -> None:
    key = bearer(make_key(db, "crm", NEWS))
    with db.session() as session:
        import_members(session, find_list(session, NEWS),
                       (f"member{n:05d}@d{n % 7}.example.org Member {n}" for n in range(10_000)))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 1000, "role": "subscriber"}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get(f"/lists/{NEWS}/members", headers=key, params=params)).json()
        seen += [m["address"] for m in page["members"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 11 and len(seen) == 10_002 and len(set(seen)) == 10_002
    assert seen == sorted(seen)
    found = (await api.get(f"/lists/{NEWS}/members", headers=key,
                           params={"q": "member 4242"})).json()["members"]
    assert [m["address"] for m in found] == ["member04242@d0.example.org"]
    assert (await api.get(f"/lists/{NEWS}/members", headers=key, params={"q": "100%"})
            ).json()["members"] == []
    broken = await api.get(f"/lists/{NEWS}/members", headers=key, params={"cursor": "!!"})
    assert broken.status_code == 422 and broken.json()["field"] == "cursor"
    report = await api.post(f"/lists/{NEWS}/members/import", headers={
        **key, "Content-Type": "text/plain"},
        content="new1@example.org New One\n# comment\nbroken-line\nann@example.org\n")
    assert report.json() == {"added": 1, "already_members": 1, "refused": [
        {"line": 3, "text": "broken-line", "reason": report.json()["refused"][0]["reason"]}]}
    csv_report = await api.post(f"/lists/{NEWS}/members/import", headers={
        **key, "Content-Type": "text/csv"},
        content="address,name\nnew2@example.org,\"Two, New\"\nnew1@example.org,x\n")
    assert csv_report.json()["added"] == 1 and csv_report.json()["already_members"] == 1
    exported = await api.get(f"/lists/{NEWS}/members.csv", headers=key)
    lines = exported.text.splitlines()
    assert exported.headers["content-type"].startswith("text/csv")
    assert lines[0] == "address,name,role,delivery,status,subscribed_at"
    assert len(lines) == 1 + 10_002 + 2 + 1  # subscribers, the two imported, the owner
    assert any(line.startswith('new2@example.org,"Two, New",subscriber') for line in lines)


HELD_POST = (b"From: Stranger <stranger@example.com>\r\nTo: " + OTHER.encode() +
             b"\r\nSubject: Look\r\nMessage-ID: <held-1@example.com>\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
             b"--b\r\nContent-Type: text/html\r\n\r\n<p>Hello</p><script>alert(1)</script>"
             b"\r\n--b--\r\n")


async def test_held_posts_shown_as_text_and_decided_once(
        api: httpx.AsyncClient, db: Database, config: Config, listd_cli: CLI,
        two_lists: None) -> None:
    key = bearer(make_key(db, "crm", OTHER))
    listd_cli.ok("inject", OTHER, "-", input=HELD_POST)

    async def held_list() -> list[dict[str, object]]:
        answer = (await api.get(f"/lists/{OTHER}/held", headers=key)).json()
        return answer if isinstance(answer, list) else []

    posts = await wait_until(held_list, what="the post to be held")
    shown = (await api.get(f"/lists/{OTHER}/held/{posts[0]['id']}", headers=key)).json()
    assert "Hello" in shown["text"] and "<script>" not in shown["text"]
    assert "alert" not in shown["text"]
    decided = await api.post(f"/lists/{OTHER}/held/{posts[0]['id']}/decision", headers=key,
                             json={"action": "reject", "reason": "not for this list"})
    assert decided.json() == {"id": posts[0]["id"], "state": "rejected"}
    twice = await api.post(f"/lists/{OTHER}/held/{posts[0]['id']}/decision", headers=key,
                           json={"action": "approve"})
    assert twice.status_code == 409
    bad = await api.post(f"/lists/{OTHER}/held/{posts[0]['id']}/decision", headers=key,
                         json={"action": "maybe"})
    assert bad.status_code == 422 and bad.json()["field"] == "action"
    await settle(db, 0)
    rejection = sent_to(config, "stranger@example.com")[-1].message
    assert "not for this list" in str(rejection)


async def test_a_post_sent_twice_with_one_idempotency_key_goes_out_once(
        api: httpx.AsyncClient, db: Database, config: Config, two_lists: None) -> None:
    key = bearer(make_key(db, "crm", NEWS))
    body = {"from": OWNER, "subject": "December news", "text": "Hello all"}
    headers = {**key, "Idempotency-Key": "newsletter-2026-12"}
    first, second = await asyncio.gather(
        api.post(f"/lists/{NEWS}/posts", headers=headers, json=body),
        api.post(f"/lists/{NEWS}/posts", headers=headers, json=body))
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    reused = await api.post(f"/lists/{NEWS}/posts", headers=headers,
                            json={**body, "subject": "Other"})
    assert reused.status_code == 422 and reused.json()["field"] == "Idempotency-Key"
    not_owner = await api.post(f"/lists/{NEWS}/posts", headers=key,
                               json={**body, "from": "ann@example.org"})
    assert not_owner.status_code == 422 and not_owner.json()["field"] == "from"
    await settle(db, 0)
    copies = [w for w in outbox(config) if "December news" in str(w.message["Subject"])]
    assert sorted(w.recipient for w in copies) == ["ann@example.org", "bob@example.net"]
    state = (await api.get(f"/lists/{NEWS}/posts/{first.json()['id']}", headers=key)).json()
    assert state["state"] == "done" and state["delivery"]["sent"] == 2
    parsed = email.message_from_bytes(copies[0].raw, policy=policy.default)
    assert parsed["List-Id"] is not None


async def test_audit_log_filtered_by_list_actor_and_time(
        api: httpx.AsyncClient, db: Database, two_lists: None) -> None:
    site = bearer(make_key(db, "admin"))
    scoped = bearer(make_key(db, "crm", NEWS))
    await api.post(f"/lists/{NEWS}/members", headers=scoped, json={"address": "z@example.org"})
    await api.post(f"/lists/{OTHER}/members", headers=site, json={"address": "y@example.org"})
    mine = (await api.get("/audit", headers=scoped)).json()["entries"]
    assert {e["list"] for e in mine} == {NEWS}
    by_actor = (await api.get("/audit", headers=site, params={"actor": "api:admin"})).json()
    assert [(e["action"], e["subject"]) for e in by_actor["entries"]] == [
        ("member.added", "y@example.org")]
    future = (await api.get("/audit", headers=site,
                            params={"since": "2999-01-01T00:00:00Z"})).json()
    assert future["entries"] == []
    first = (await api.get("/audit", headers=site, params={"limit": 2})).json()
    older = (await api.get("/audit", headers=site,
                           params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert max(e["id"] for e in older["entries"]) < min(e["id"] for e in first["entries"])

