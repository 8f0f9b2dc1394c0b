"""API keys: shown once, hashed, scoped; 401 and 403 that tell nothing about other lists."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from listd.database import Database
from listd.models import ApiKey
from tests.api.conftest import NEWS, OTHER, bearer, make_key
from tests.conftest import CLI


def test_cli_prints_the_key_once_and_keeps_only_its_hash(listd_cli: CLI, db: Database,
                                                          two_lists: None) -> None:
    result = listd_cli.ok("api-key", "add", "crm", "--list", NEWS)
    key = result.stdout.strip()
    assert key.startswith("listd_") and len(key) > 40
    with db.reading() as session:
        stored = session.scalar(select(ApiKey).where(ApiKey.name == "crm"))
        assert stored is not None and key not in (stored.key_hash, *stored.lists)
    listed = json.loads(listd_cli.ok("api-key", "ls", "--json").stdout)
    assert listed == [{"name": "crm", "scope": [NEWS], "created_at": listed[0]["created_at"],
                       "last_used_at": None, "revoked": False}]
    assert key not in listd_cli.ok("api-key", "ls").stdout


def test_cli_errors_name_the_value(listd_cli: CLI, two_lists: None) -> None:
    listd_cli.ok("api-key", "add", "crm")
    again = listd_cli("api-key", "add", "crm")
    assert again.exit_code == 1 and "crm already exists" in again.stderr
    unknown = listd_cli("api-key", "add", "x", "--list", "nope@lists.example.org")
    assert unknown.exit_code == 1 and "no list nope@lists.example.org" in unknown.stderr
    assert "no active API key named ghost" in listd_cli("api-key", "revoke", "ghost").stderr


async def test_missing_wrong_and_revoked_keys_get_401(api: httpx.AsyncClient, db: Database,
                                                      listd_cli: CLI, two_lists: None) -> None:
    key = make_key(db, "crm")
    assert (await api.get("/lists")).status_code == 401
    assert (await api.get("/lists", headers=bearer(key + "x"))).status_code == 401
    assert (await api.get("/lists", headers={"Authorization": f"Basic {key}"})
            ).status_code == 401
    ok = await api.get("/lists", headers=bearer(key))
    assert ok.status_code == 200 and {row["address"] for row in ok.json()} == {NEWS, OTHER}
    listd_cli.ok("api-key", "revoke", "crm")
    refused = await api.get("/lists", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/api/v1/problems/unauthorized"
    used = json.loads(listd_cli.ok("api-key", "ls", "--json").stdout)[0]
    assert used["last_used_at"] is not None and used["revoked"] is True


async def test_a_scoped_key_cannot_reach_another_list_nor_learn_it_exists(
        api: httpx.AsyncClient, db: Database, two_lists: None) -> None:
    key = bearer(make_key(db, "news-only", NEWS))
    assert (await api.get(f"/lists/{NEWS}/members", headers=key)).status_code == 200
    existing = await api.get(f"/lists/{OTHER}/members", headers=key)
    missing = await api.get("/lists/ghost@lists.example.org/members", headers=key)
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()
    listed = await api.get("/lists", headers=key)
    assert [row["address"] for row in listed.json()] == [NEWS]
    for method, path in [("POST", f"/lists/{OTHER}/members"), ("GET", f"/lists/{OTHER}"),
                         ("POST", "/lists"), ("POST", f"/lists/{NEWS}/approve"),
                         ("GET", f"/audit?list={OTHER}")]:
        answer = await api.request(method, path, headers=key, json={"address": "x@y.org"})
        assert answer.status_code == 403, (method, path, answer.text)
