"""`listd import sympa|mailman3`: fixtures written from each system's documented formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from listd.importers.sympa import parse_subscribers
from tests.conftest import CLI

FIXTURES = Path(__file__).parent / "fixtures"


def members_of(listd_cli: CLI, address: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = json.loads(listd_cli.ok("member", "ls", address, "--json").stdout)
    return {(r["address"], r["role"]): (r["name"], r["delivery"]) for r in rows}


def test_sympa_list_directory(listd_cli: CLI) -> None:
    result = listd_cli.ok("import", "sympa", str(FIXTURES / "sympa" / "news"))
    out = result.stdout
    assert out.startswith("list news@lists.example.org created and active: 2 owners, "
                          "1 moderators, 3 subscribers\n")
    assert members_of(listd_cli, "news@lists.example.org") == {
        ("alice@example.org", "owner"): ("Alice Martin", "mail"),
        ("bob@example.org", "owner"): ("", "mail"),
        ("mod@example.org", "moderator"): ("Marie Modère", "mail"),
        ("jeanne@example.org", "subscriber"): ("Jeanne Dupont", "mail"),
        ("paul@example.net", "subscriber"): ("Paul Durand", "digest"),
        ("zoe@example.fr", "subscriber"): ("", "nomail"),
    }
    shown = json.loads(listd_cli.ok("list", "show", "news@lists.example.org", "--json").stdout)
    assert shown["subject"] == "Association news" and shown["language"] == "fr"
    assert {k: shown["settings"][k] for k in (
        "posting", "nonmember_action", "subscription", "review", "visibility",
        "subject_prefix", "max_message_size", "reply_to")} == {
        "posting": "members", "nonmember_action": "hold", "subscription": "approval",
        "review": "members", "visibility": "public", "subject_prefix": "[Nouvelles]",
        "max_message_size": 2097152, "reply_to": "list"}
    for unmapped in ("digest 1,4 18:00", "bounce warn_rate=30 halt_rate=50",
                     "archive period=month access=owner", "'not-an-address'"):
        assert unmapped in out, unmapped
    assert "not imported: status" not in out and "creation" not in out


def test_sympa_review_reply_as_the_subscribers(listd_cli: CLI, tmp_path: Path) -> None:
    directory = tmp_path / "news"
    directory.mkdir()
    shutil.copy(FIXTURES / "sympa" / "news" / "config", directory / "config")
    shutil.copy(FIXTURES / "sympa" / "review.txt", directory / "review.txt")
    listd_cli.ok("import", "sympa", str(directory))
    subscribers = {a: v for (a, role), v in members_of(listd_cli, "news@lists.example.org")
                   .items() if role == "subscriber"}
    assert subscribers == {"jeanne@example.org": ("Jeanne Dupont", "mail"),
                           "paul@example.net": ("Paul Durand", "mail")}


def test_sympa_bad_directory_is_one_line(listd_cli: CLI, tmp_path: Path) -> None:
    result = listd_cli("import", "sympa", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == f"listd: error: {tmp_path}: not a Sympa list directory " \
                            "(no config file)\n"


def test_mailman3_rest_json(listd_cli: CLI) -> None:
    out = listd_cli.ok("import", "mailman3", str(FIXTURES / "mailman3" / "club.json")).stdout
    assert out.startswith("list club@lists.example.org created and active: 1 owners, "
                          "1 moderators, 2 subscribers\n")
    assert members_of(listd_cli, "club@lists.example.org") == {
        ("owner@example.org", "owner"): ("Olivia Owner", "mail"),
        ("mod@example.org", "moderator"): ("", "mail"),
        ("anne@example.org", "subscriber"): ("Anne Leroy", "mail"),
        ("ben@example.org", "subscriber"): ("Ben", "digest"),
    }
    shown = json.loads(listd_cli.ok("list", "show", "club@lists.example.org", "--json").stdout)
    assert shown["subject"] == "Club"
    assert shown["description"] == "The club's discussion list"
    assert {k: shown["settings"][k] for k in (
        "subscription", "nonmember_action", "review", "dmarc_mitigation", "visibility",
        "max_message_size", "max_recipients", "reply_to", "subject_prefix")} == {
        "subscription": "approval", "nonmember_action": "hold", "review": "members",
        "dmarc_mitigation": "munge_from", "visibility": "public",
        "max_message_size": 40 * 1024, "max_recipients": 10, "reply_to": "list",
        "subject_prefix": "[Club]"}
    for unmapped in ("archive_policy \"public\"", "digests_enabled true",
                     "send_welcome_message true", "nonmember 'guest@example.org'"):
        assert unmapped in out, unmapped


def test_an_existing_list_is_not_overwritten(listd_cli: CLI) -> None:
    listd_cli.ok("import", "mailman3", str(FIXTURES / "mailman3" / "club.json"))
    again = listd_cli("import", "mailman3", str(FIXTURES / "mailman3" / "club.json"))
    assert again.exit_code == 1
    assert again.stderr == "listd: error: list club@lists.example.org already exists\n"


def test_dump_paragraphs_and_address_lines_parse_alike() -> None:
    dump = list(parse_subscribers("email a@example.org\ngecos A\n\nemail b@example.org\n"))
    lines = list(parse_subscribers("a@example.org A\nb@example.org\n"))
    assert dump == lines
