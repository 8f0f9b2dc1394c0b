"""`listd list ban|unban|accept|unaccept|patterns`, and what the patterns do to posts."""

from __future__ import annotations

import json

from listd.config import Config
from listd.database import Database
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import outcomes, sent_to, settle

LIST = "club@lists.example.org"
BOB = "bob@example.org"


def test_patterns_are_added_shown_and_removed(listd_cli: CLI, db: Database,
                                              config: Config) -> None:
    make_list(db, config, LIST)
    assert "added to the ban list" in listd_cli.ok("list", "ban", LIST, "*@Spam.example").stdout
    listd_cli.ok("list", "accept", LIST, "Friend@Example.net")
    listd_cli.ok("list", "ban", LIST, "^.*@junk\\.example$")
    shown = json.loads(listd_cli.ok("list", "patterns", LIST, "--json").stdout)
    assert shown == [{"kind": "accept", "pattern": "friend@example.net"},
                     {"kind": "ban", "pattern": "*@spam.example"},
                     {"kind": "ban", "pattern": "^.*@junk\\.example$"}]
    assert "ban     *@spam.example" in listd_cli.ok("list", "patterns", LIST).stdout

    listd_cli.ok("list", "unban", LIST, "*@spam.example")
    listd_cli.ok("list", "unaccept", LIST, "friend@example.net")
    listd_cli.ok("list", "unban", LIST, "^.*@junk\\.example$")
    assert listd_cli.ok("list", "patterns", LIST).stdout == "no patterns\n"
    assert json.loads(listd_cli.ok("list", "patterns", LIST, "--json").stdout) == []


def test_pattern_errors_are_one_line(listd_cli: CLI, db: Database, config: Config) -> None:
    make_list(db, config, LIST)
    listd_cli.ok("list", "ban", LIST, "*@spam.example")
    cases = {
        ("ban", LIST, "*@spam.example"):
            f"*@spam.example is already on the ban list of {LIST}",
        ("unban", LIST, "nobody@example.org"):
            f"nobody@example.org is not on the ban list of {LIST}",
        ("ban", LIST, "^(unclosed"): "invalid regular expression '^(unclosed'",
        ("accept", LIST, "*.example"): "pattern '*.example' must contain '@'",
        ("patterns", "nolist@lists.example.org"): "no list nolist@lists.example.org",
    }
    for args, message in cases.items():
        result = listd_cli("list", *args)
        assert result.exit_code == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("listd: error: "), result.stderr
        assert message in lines[0], (args, lines[0])


async def test_a_ban_discards_and_an_accept_lets_through(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, LIST, subscribers=(BOB,))
    await in_thread(listd_cli.ok, "list", "ban", LIST, "*@spam.example")
    await in_thread(listd_cli.ok, "list", "accept", LIST, "friend@example.net")
    await in_thread(post, daemon.port, "seller@spam.example", LIST, "Buy", "x\n")
    await in_thread(post, daemon.port, "friend@example.net", LIST, "Hi from outside", "x\n")
    await settle(db, 2)
    assert [w.message["Subject"] for w in sent_to(config, BOB)] == ["[club] Hi from outside"]
    assert outcomes(db)[0].startswith("discarded (banned")
