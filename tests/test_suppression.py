"""The site-wide suppression list: complainers and bounced-away addresses are not added back."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.models import AuditEntry
from listd.serve import Daemon
from tests.api.conftest import bearer, make_key
from tests.conftest import CLI
from tests.support.lists import make_list
from tests.test_bounce_processing import GONE, NEWS, OK, arf, bounce_back, fan_out, member


def suppressed(listd_cli: CLI) -> dict[str, dict[str, str]]:
    rows = json.loads(listd_cli.ok("suppression", "ls", "--json").stdout)
    return {row["address"]: row for row in rows}


async def test_a_complainer_is_suppressed_and_import_add_refuse_it_until_forced(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, NEWS, subscribers=(GONE, OK))
    tokens = fan_out(db, daemon.runtime)
    await bounce_back(db, daemon.port, tokens[OK], arf(OK))
    assert member(db, OK) is None
    entry = suppressed(listd_cli)[OK]
    assert (entry["reason"], entry["list"]) == ("complaint", NEWS)

    # Today's bug: a later import silently added the complainer back.
    imported = listd_cli("member", "import", NEWS, "-",
                         input=f"{OK.upper()} Fine Again\nnew@example.org New\n")
    assert imported.exit_code == 0
    assert "1 added, 0 already members, 1 refused" in imported.stdout
    assert f"line 1: refused '{OK.upper()} Fine Again': {OK} is on the suppression list " \
           f"(complaint on {NEWS} since" in imported.stderr
    assert member(db, OK) is None

    added = listd_cli("member", "add", NEWS, OK)
    assert added.exit_code == 1
    assert added.stderr.startswith(f"listd: error: {OK} is on the suppression list (complaint")
    assert member(db, OK) is None

    listd_cli.ok("member", "add", NEWS, OK, "--force")
    assert member(db, OK) is not None
    assert OK not in suppressed(listd_cli)
    with db.session() as session:
        lifted = session.scalar(select(AuditEntry).where(
            AuditEntry.action == "suppression.removed"))
        assert lifted is not None and lifted.subject == OK and lifted.actor == "cli"


def test_suppression_add_ls_remove_and_a_forced_import(listd_cli: CLI, db: Database,
                                                       config: Config) -> None:
    make_list(db, config, NEWS)
    listd_cli.ok("suppression", "add", "Forget.Me@Example.org", "--reason", "forgotten",
                 "--note", "asked by mail on 2026-11-30")
    entry = suppressed(listd_cli)["forget.me@example.org"]
    assert (entry["reason"], entry["note"]) == ("forgotten", "asked by mail on 2026-11-30")
    text = listd_cli.ok("suppression", "ls").stdout
    assert "forget.me@example.org" in text and "forgotten" in text

    refused = listd_cli("member", "import", NEWS, "-", input="forget.me@example.org\n")
    assert refused.exit_code == 1
    assert "0 added, 0 already members, 1 refused" in refused.stdout
    forced = listd_cli.ok("member", "import", NEWS, "-", "--force",
                          input="forget.me@example.org\n")
    assert "1 added" in forced.stdout
    assert suppressed(listd_cli) == {}

    listd_cli.ok("suppression", "add", "other@example.org")
    listd_cli.ok("suppression", "remove", "other@example.org")
    missing = listd_cli("suppression", "remove", "other@example.org")
    assert missing.exit_code == 1
    assert missing.stderr == "listd: error: other@example.org is not on the suppression list\n"
    bad = listd_cli("suppression", "add", "not-an-address")
    assert bad.exit_code == 1 and bad.stderr.startswith("listd: error: ")


async def test_the_api_refuses_a_suppressed_address_unless_forced(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, NEWS, owners=("owner@example.org",))
    listd_cli.ok("suppression", "add", "spam.reporter@example.net", "--reason", "complaint")
    key = bearer(make_key(db, "crm", NEWS))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}/api/v1",
                                 headers=key, timeout=30) as api:
        refused = await api.post(f"/lists/{NEWS}/members",
                                 json={"address": "spam.reporter@example.net"})
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["type"].endswith("/suppressed") and problem["field"] == "address"
        assert "suppression list (complaint" in problem["detail"]
        asked = await api.post(f"/lists/{NEWS}/members",
                               json={"address": "spam.reporter@example.net", "confirm": True})
        assert asked.status_code == 409

        report = await api.post(f"/lists/{NEWS}/members/import",
                                content="spam.reporter@example.net\nok@example.org\n",
                                headers={"Content-Type": "text/plain"})
        body = report.json()
        assert body["added"] == 1 and [r["line"] for r in body["refused"]] == [1]
        assert "suppression list" in body["refused"][0]["reason"]

        forced = await api.post(f"/lists/{NEWS}/members",
                                json={"address": "spam.reporter@example.net", "force": True})
        assert forced.status_code == 201
    assert member(db, "spam.reporter@example.net") is not None
    assert suppressed(listd_cli) == {}
