"""`listd postfix config`: its output is what Postfix itself reads (postconf, postmap)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from listd.config import Config
from tests.conftest import CLI

POSTCONF = shutil.which("postconf") or shutil.which("postconf", path="/usr/sbin")
POSTMAP = shutil.which("postmap") or shutil.which("postmap", path="/usr/sbin")
needs_postfix = pytest.mark.skipif(POSTCONF is None or POSTMAP is None,
                                   reason="Postfix is not installed")


def main_cf_lines(output: str) -> list[str]:
    section = output.split("# --- main.cf", 1)[1].split("\n\n", 1)[0]
    return [line for line in section.splitlines()[1:] if line]


def test_it_names_the_served_domains_and_the_lmtp_port(listd_cli: CLI, config: Config) -> None:
    listd_cli.ok("domain", "add", "other.example.net")
    output = listd_cli.ok("postfix", "config", "--map-dir", "/etc/postfix").stdout
    settings = dict(line.split(" = ", 1) for line in main_cf_lines(output))
    assert settings["relay_domains"] == "lists.example.org, other.example.net"
    assert settings["transport_maps"] == "hash:/etc/postfix/listd_transport"
    assert settings["address_verify_positive_expire_time"] == "1h"
    restrictions = settings["smtpd_recipient_restrictions"].split(", ")
    assert restrictions.index("check_recipient_access regexp:/etc/postfix/"
                              "listd_recipient_access") < restrictions.index(
        "reject_unverified_recipient")
    assert f"lists.example.org smtp:[127.0.0.1]:{config.smtp_in.port}" in output
    assert "note: smtp_in.lmtp is false" in output


def test_a_map_dir_that_does_not_exist_is_one_line(listd_cli: CLI, tmp_path: Path) -> None:
    result = listd_cli("postfix", "config", "--map-dir", str(tmp_path / "nope"), "--write")
    assert result.exit_code == 1
    assert result.stderr.startswith("listd: error: cannot write ")


@needs_postfix
def test_postfix_reads_the_output(listd_cli: CLI, tmp_path: Path) -> None:
    output = listd_cli.ok("postfix", "config", "--map-dir", str(tmp_path), "--write").stdout
    lines = main_cf_lines(output)
    (tmp_path / "main.cf").write_text("compatibility_level = 3.6\n" + "\n".join(lines) + "\n")
    (tmp_path / "master.cf").write_text("")
    shown = subprocess.run([str(POSTCONF), "-n", "-c", str(tmp_path)], capture_output=True,
                           text=True, check=True)
    assert shown.stderr == ""
    assert sorted(line for line in shown.stdout.splitlines()
                  if not line.startswith("config_directory")) == sorted(
        ["compatibility_level = 3.6", *lines])
    # Every name is one Postfix knows (an unknown one is only a warning to postconf).
    names = [line.split(" = ", 1)[0] for line in lines]
    known = subprocess.run([str(POSTCONF), "-c", str(tmp_path), "-h", *names],
                           capture_output=True, text=True, check=True)
    assert known.stderr == ""

    access = f"regexp:{tmp_path / 'listd_recipient_access'}"
    for address, answer in [("news-bounces+1f-abcdef0123@lists.example.org", "OK"),
                            ("NEWS-Confirm+tok@Lists.Example.org", "OK"),
                            ("news@lists.example.org", ""),
                            ("news-bounces+x@elsewhere.example.org", ""),
                            ("news-owner@lists.example.org", "")]:
        found = subprocess.run([str(POSTMAP), "-c", str(tmp_path), "-q", address, access],
                               capture_output=True, text=True, check=False)
        assert found.stdout.strip() == answer, address

    transport = tmp_path / "listd_transport"
    subprocess.run([str(POSTMAP), "-c", str(tmp_path), str(transport)], check=True)
    hop = subprocess.run([str(POSTMAP), "-c", str(tmp_path), "-q", "lists.example.org",
                          f"hash:{transport}"], capture_output=True, text=True, check=True)
    assert hop.stdout.strip().startswith("smtp:[127.0.0.1]:")
