"""The admin CLI end to end, in a fresh database: request → approve → members → JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from listd.database import Database
from listd.models import AuditEntry, Member
from tests.conftest import CLI

NEWS = "news@lists.example.org"


def request_news(listd_cli: CLI, template: str = "newsletter") -> None:
    listd_cli.ok("list", "request", NEWS, "--owner", "Alice@Example.org", "--template", template,
                 "--subject", "Association news")


def test_request_approve_add_import_and_list_as_json(listd_cli: CLI) -> None:
    request_news(listd_cli)
    pending = json.loads(listd_cli.ok("list", "ls", "--pending", "--json").stdout)
    assert [(row["address"], row["status"]) for row in pending] == [(NEWS, "pending")]

    approved = listd_cli.ok("list", "approve", NEWS)
    assert "is now active" in approved.stdout
    assert json.loads(listd_cli.ok("list", "ls", "--pending", "--json").stdout) == []

    listd_cli.ok("member", "add", NEWS, "Jeanne.Dupont@Example.org", "--name", "Jeanne Dupont")
    listd_cli.ok("member", "add", NEWS, "mod@example.org", "--role", "moderator")
    imported = listd_cli.ok("member", "import", NEWS, "-",
                            input="# members from the old list\n"
                                  "paul@example.org Paul Martin\n"
                                  "not-an-address Someone\n"
                                  "\n"
                                  "jeanne.dupont@example.org Jeanne again\n"
                                  "zoé@exemple.fr Zoé\n")
    assert "2 added, 1 already members, 1 refused" in imported.stdout
    assert "line 3: refused 'not-an-address Someone'" in imported.stderr

    members = json.loads(listd_cli.ok("member", "ls", NEWS, "--role", "subscriber",
                                      "--json").stdout)
    assert sorted((m["address"], m["name"]) for m in members) == [
        ("jeanne.dupont@example.org", "Jeanne Dupont"),
        ("paul@example.org", "Paul Martin"),
        ("zoé@exemple.fr", "Zoé"),
    ]
    everyone = json.loads(listd_cli.ok("member", "ls", NEWS, "--json").stdout)
    assert {m["role"] for m in everyone} == {"owner", "moderator", "subscriber"}

    shown = json.loads(listd_cli.ok("list", "show", NEWS, "--json").stdout)
    assert shown["status"] == "active"
    assert shown["owners"] == ["alice@example.org"]
    assert shown["subscribers"] == 3
    assert shown["settings"]["posting"] == "owners"

    listd_cli.ok("member", "remove", NEWS, "paul@example.org")
    members = json.loads(listd_cli.ok("member", "ls", NEWS, "--role", "subscriber",
                                      "--json").stdout)
    assert "paul@example.org" not in {m["address"] for m in members}


def test_list_set_validates_and_stores(listd_cli: CLI) -> None:
    request_news(listd_cli, template="discussion")
    listd_cli.ok("list", "set", NEWS, "posting", "moderated")
    listd_cli.ok("list", "set", NEWS, "max_message_size", "20000")
    listd_cli.ok("list", "set", NEWS, "language", "fr")
    shown = json.loads(listd_cli.ok("list", "show", NEWS, "--json").stdout)
    assert shown["settings"]["posting"] == "moderated"
    assert shown["settings"]["max_message_size"] == 20000
    assert shown["language"] == "fr"


def assert_fails(listd_cli: CLI, expected: str, *args: str, input: str | None = None) -> None:
    result = listd_cli(*args, input=input)
    assert result.exit_code == 1, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("listd: error: "), result.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_every_error_is_one_clear_line(listd_cli: CLI) -> None:
    assert_fails(listd_cli, "no list ghost@lists.example.org", "list", "show",
                 "ghost@lists.example.org")
    assert_fails(listd_cli, "no list ghost@lists.example.org", "member", "add",
                 "ghost@lists.example.org", "a@example.org")
    assert_fails(listd_cli, "domain other.example.net is not served", "list", "request",
                 "news@other.example.net", "--owner", "a@example.org")
    assert_fails(listd_cli, "invalid address 'alice@'", "list", "request", NEWS,
                 "--owner", "alice@")
    assert_fails(listd_cli, "unknown list template 'fanzine'", "list", "request", NEWS,
                 "--owner", "a@example.org", "--template", "fanzine")
    assert_fails(listd_cli, "invalid list name 'news-owner'", "list", "request",
                 "news-owner@lists.example.org", "--owner", "a@example.org")
    request_news(listd_cli)
    assert_fails(listd_cli, "already exists", "list", "request", NEWS, "--owner", "a@example.org")
    assert_fails(listd_cli, "invalid address 'bob@@example.org'", "member", "add", NEWS,
                 "bob@@example.org")
    listd_cli.ok("member", "add", NEWS, "bob@example.org")
    assert_fails(listd_cli, "bob@example.org is already subscriber", "member", "add", NEWS,
                 "BOB@example.org")
    assert_fails(listd_cli, "carol@example.org is not subscriber", "member", "remove", NEWS,
                 "carol@example.org")
    assert_fails(listd_cli, "posting must be one of owners, members, anyone, moderated, "
                 "not 'everybody'", "list", "set", NEWS, "posting", "everybody")
    assert_fails(listd_cli, "unknown setting 'postin'", "list", "set", NEWS, "postin", "owners")
    assert_fails(listd_cli, "max_message_size must be a whole number, not 'big'", "list", "set",
                 NEWS, "max_message_size", "big")
    assert_fails(listd_cli, "last owner", "member", "remove", NEWS, "alice@example.org",
                 "--role", "owner")
    listd_cli.ok("list", "approve", NEWS)
    assert_fails(listd_cli, "is active; cannot make it active", "list", "approve", NEWS)
    result = listd_cli("member", "import", NEWS, "-", input="nope\nalso bad\n")
    assert result.exit_code == 1 and "0 added, 0 already members, 2 refused" in result.stdout


def test_domains(listd_cli: CLI) -> None:
    listd_cli.ok("domain", "add", "Second.Example.net")
    domains = json.loads(listd_cli.ok("domain", "ls", "--json").stdout)
    assert {d["domain"] for d in domains} == {"lists.example.org", "second.example.net"}
    assert_fails(listd_cli, "domain second.example.net already exists", "domain", "add",
                 "second.example.net")
    assert_fails(listd_cli, "invalid domain name", "domain", "add", "not a domain")
    listd_cli.ok("list", "request", "club@second.example.net", "--owner", "a@example.org")


def test_bulk_import_adds_every_valid_line_once(listd_cli: CLI) -> None:
    # bench/import_members.py measures the speed at 100,000 lines; this checks the result.
    request_news(listd_cli)
    lines = "".join(f"member{i}@example{i % 97}.org Member Number {i}\n" for i in range(20_000))
    result = listd_cli.ok("member", "import", NEWS, "-", input=lines + lines[:1000])
    assert "20000 added" in result.stdout
    shown = json.loads(listd_cli.ok("list", "show", NEWS, "--json").stdout)
    assert shown["subscribers"] == 20_000


def test_a_database_without_schema_is_reported(tmp_path: Path) -> None:
    blank = tmp_path / "blank.yaml"
    blank.write_text(f"database: sqlite:///{tmp_path / 'empty.db'}\ndomains: [x.example.org]\n")
    result = CLI(blank)("list", "ls")
    assert result.exit_code == 1
    assert "run 'listd db upgrade'" in result.stderr


def test_listd_own_addresses_are_refused_as_members(listd_cli: CLI) -> None:
    request_news(listd_cli)
    listd_cli.ok("list", "approve", NEWS)
    listd_cli.ok("list", "request", "club@lists.example.org", "--owner", "alice@example.org")
    for address in (NEWS, "news-owner@lists.example.org", "listd@lists.example.org",
                    "news-bounces+x@lists.example.org", "club@lists.example.org",
                    "listd-confirm+t@lists.example.org"):
        result = listd_cli("member", "add", NEWS, address)
        assert result.exit_code == 1, address
        assert result.stderr == (f"listd: error: {address} is one of listd's own addresses "
                                 "and cannot be a member of a list\n")
    imported = listd_cli("member", "import", NEWS, "-",
                         input="news-request@lists.example.org\nbob@example.org Bob\n")
    assert "1 added, 0 already members, 1 refused" in imported.stdout
    assert "one of listd's own addresses" in imported.stderr
    # An address at the same domain that names no list is a person's.
    listd_cli.ok("member", "add", NEWS, "jeanne@lists.example.org")


def test_usage_errors_are_one_line_and_exit_1(listd_cli: CLI) -> None:
    for args, message in [
        (("held", "approve", "abc"),
         "Invalid value for 'ID': 'abc' is not a valid integer (see 'listd held approve "
         "--help')"),
        (("doctor",), "Missing argument 'DOMAIN' (see 'listd doctor --help')"),
        (("frobnicate",), "No such command 'frobnicate' (see 'listd --help')"),
    ]:
        result = listd_cli(*args)
        assert (result.exit_code, result.stderr) == (1, f"listd: error: {message}\n"), args
    assert listd_cli("--help").exit_code == 0


def test_reopen_delete_and_a_refused_name_requested_again(listd_cli: CLI, db: Database
                                                          ) -> None:
    request_news(listd_cli)
    listd_cli.ok("list", "reject", NEWS)
    # The refused name is free again.
    request_news(listd_cli)
    listd_cli.ok("list", "approve", NEWS)
    listd_cli.ok("list", "close", NEWS)
    assert "is now active" in listd_cli.ok("list", "reopen", NEWS).stdout
    listd_cli.ok("member", "add", NEWS, "jeanne@example.org")

    # The queued mail: the owners' notice of Jeanne's subscription.
    refused = listd_cli("list", "delete", NEWS)
    assert (refused.exit_code, refused.stderr) == (1, (
        f"listd: error: deleting {NEWS} removes its 2 members, 0 held posts and 1 queued "
        "mails; run again with --yes\n"))
    deleted = listd_cli.ok("list", "delete", NEWS, "--yes")
    assert deleted.stdout == f"list {NEWS} deleted with its 2 members, 0 held posts and " \
                             "1 queued mails\n"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 0
        assert session.scalar(select(AuditEntry.action).where(
            AuditEntry.subject == NEWS).order_by(AuditEntry.id.desc()).limit(1)) == \
            "list.deleted"
    assert listd_cli("list", "show", NEWS).stderr == f"listd: error: no list {NEWS}\n"
    request_news(listd_cli)


def test_only_db_upgrade_creates_a_database_and_it_says_which_config(tmp_path: Path) -> None:
    config_file = tmp_path / "elsewhere.yaml"
    database = tmp_path / "new" / "listd.db"
    config_file.write_text(f"database: sqlite:///{database}\ndomains: [lists.example.org]\n")
    cli = CLI(config_file)
    refused = cli("list", "ls")
    assert (refused.exit_code, refused.stderr) == (1, (
        f"listd: error: no database at {database} (config file {config_file}); "
        "run 'listd db upgrade' to create it\n"))
    assert not database.exists()
    created = cli.ok("db", "upgrade").stdout.splitlines()
    assert created[:2] == [f"using config file {config_file}; database sqlite:///{database}",
                           "created the listd schema (revision 0001)"]
    again = cli.ok("db", "upgrade").stdout.splitlines()
    assert again[1] == "the schema is already up to date (revision 0001)"
    assert cli.ok("list", "ls").exit_code == 0


def test_show_gives_effective_values_and_empty_listings_say_so(listd_cli: CLI) -> None:
    assert listd_cli.ok("list", "ls", "--pending").stdout == "no pending lists\n"
    request_news(listd_cli)
    listd_cli.ok("list", "approve", NEWS)
    listd_cli.ok("list", "set", NEWS, "footer", "Read us at example.org")
    shown = listd_cli.ok("list", "show", NEWS).stdout
    assert "  subject_prefix: [news]\n" in shown
    assert "  | Read us at example.org\n" in shown
    assert "  | To unsubscribe send an email to news-leave@lists.example.org" in shown
    assert listd_cli.ok("bounce", "ls", NEWS).stdout == \
        f"no member of {NEWS} has a bounce score\n"
    assert listd_cli.ok("member", "ls", NEWS, "--role", "moderator").stdout == \
        f"no moderators on {NEWS}\n"


def test_member_ls_streams_valid_json_in_batches(listd_cli: CLI, config_file: Path,
                                                 db: Database) -> None:
    request_news(listd_cli)
    listd_cli.ok("list", "approve", NEWS)
    assert json.loads(listd_cli.ok("member", "ls", NEWS, "--role", "subscriber",
                                   "--json").stdout) == []
    # More than one batch of members.iter_members, names that JSON must escape.
    lines = "".join(f'm{n:04d}@example.org Zoé "{n}" \\ {n}\n' for n in range(4_500))
    listd_cli.ok("member", "import", NEWS, "-", input=lines)
    listd_cli.ok("member", "add", NEWS, "m0007@example.org", "--role", "moderator")
    # The real process, its output read as it comes: one JSON array, in role then address order.
    shown = subprocess.run([sys.executable, "-m", "listd.cli", "--config", str(config_file),
                            "member", "ls", NEWS, "--json"], capture_output=True, check=True)
    everyone = json.loads(shown.stdout)
    assert [(m["role"], m["address"]) for m in everyone] == [
        ("moderator", "m0007@example.org"), ("owner", "alice@example.org"),
        *(("subscriber", f"m{n:04d}@example.org") for n in range(4_500))]
    assert everyone[-1]["name"] == 'Zoé "4499" \\ 4499'
    text = listd_cli.ok("member", "ls", NEWS, "--role", "subscriber").stdout.splitlines()
    assert len(text) == 4_500 and text[0].startswith("m0000@example.org")
