"""Keyset pages of GET /lists/{address}/members through `listd serve`: every member exactly
once across the pages, while members are added between one page and the next."""

from __future__ import annotations

import httpx

from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.members import import_members
from listd.models import Role
from tests.api.conftest import NEWS, OWNER, bearer, make_key
from tests.support.lists import make_list


async def test_every_member_once_across_pages_while_members_are_added(
        api: httpx.AsyncClient, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, owners=(OWNER,))
    with db.session() as session:
        news = find_list(session, NEWS)
        import_members(session, news, (f"m{n:04d}@example.org Member {n}" for n in range(1_500)))
        # The same address with two roles is two memberships, each listed once.
        import_members(session, news, ["m0042@example.org", "m0999@example.org"],
                       role=Role.MODERATOR)
    key = bearer(make_key(db, "crm", NEWS))
    seen: list[tuple[str, str]] = []
    cursor: str | None = None
    page_number = 0
    while True:
        params: dict[str, str | int] = {"limit": 97}
        if cursor:
            params["cursor"] = cursor
        answer = await api.get(f"/lists/{NEWS}/members", headers=key, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += [(m["address"], m["role"]) for m in page["members"]]
        # Between two pages: one member sorts before the cursor (not shown: already passed),
        # one after it (shown once, on a later page).
        for address in (f"a{page_number:03d}@example.org", f"z{page_number:03d}@example.org"):
            added = await api.post(f"/lists/{NEWS}/members", headers=key,
                                   json={"address": address})
            assert added.status_code == 201, added.text
        page_number += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a membership shown twice"
    assert seen == sorted(seen)
    assert {a for a, r in seen if r == "subscriber" and a.startswith("m")} == {
        f"m{n:04d}@example.org" for n in range(1_500)}
    assert (OWNER, "owner") in seen
    assert {(a, r) for a, r in seen if r == "moderator"} == {
        ("m0042@example.org", "moderator"), ("m0999@example.org", "moderator")}
    # The last one was added after the last page.
    assert {a for a, _ in seen if a.startswith("z")} == {
        f"z{n:03d}@example.org" for n in range(page_number - 1)}
    assert not [a for a, _ in seen if a.startswith("a")], "added before the cursor, yet shown"
