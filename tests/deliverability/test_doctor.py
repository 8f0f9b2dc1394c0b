"""`listd doctor DOMAIN` against a zone of our own, served on loopback, and a real relay."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from listd.database import Database
from tests.conftest import CLI, DOMAIN
from tests.support.dns_server import DnsServer, Zone
from tests.support.sink import Sink


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def doctor_cli(config_file: Path, dns_server: DnsServer, relay_port: int) -> CLI:
    path = config_file.parent / "doctor.yaml"
    path.write_text(config_file.read_text().replace("outbound: {mode: maildir", "#") + (
        f"outbound: {{mode: smtp, host: 127.0.0.1, port: {relay_port}}}\n"
        f"dns: {{nameservers: [127.0.0.1], port: {dns_server.port}, timeout: 1.0}}\n"
        "doctor: {relay_addresses: [127.0.0.1]}\n"))
    return CLI(path)


def good_zone(dkim_strings: list[str]) -> Zone:
    return {
        DOMAIN: {"MX": [f"10 mx.{DOMAIN}."], "TXT": ['"v=spf1 ip4:127.0.0.1 -all"']},
        f"mx.{DOMAIN}": {"A": ["127.0.0.1"]},
        f"listd._domainkey.{DOMAIN}": {"TXT": [" ".join(f'"{s}"' for s in dkim_strings)]},
        f"_dmarc.{DOMAIN}": {"TXT": ['"v=DMARC1; p=quarantine"']},
        "1.0.0.127.in-addr.arpa": {"PTR": [f"mx.{DOMAIN}."]},
    }


async def run_doctor(cli: CLI) -> tuple[int, dict[str, dict[str, str]]]:
    # In a thread: the relay (the sink) answers from this test's event loop.
    result = await asyncio.to_thread(cli, "doctor", DOMAIN, "--json")
    findings = {f["check"]: f for f in json.loads(result.output)}
    return result.exit_code, findings


async def test_a_correct_zone_passes_and_each_mistake_is_reported(
        config_file: Path, db: Database, dns_server: DnsServer, sink: Sink,
        listd_cli: CLI) -> None:
    strings = json.loads(listd_cli.ok("dkim", "keygen", DOMAIN, "--json").output)["strings"]
    cli = doctor_cli(config_file, dns_server, sink.port)
    dns_server.zone.update(good_zone(strings))
    status, findings = await run_doctor(cli)
    assert status == 0, findings
    assert {f["status"] for f in findings.values()} == {"ok"}
    assert set(findings) == {"mx", "spf", "dkim", "dmarc", "alignment", "reverse-dns", "relay"}

    async def broken(change: dict[str, dict[str, list[str]]], check: str, words: str) -> None:
        dns_server.zone.clear()
        dns_server.zone.update({**good_zone(strings), **change})
        status, findings = await run_doctor(cli)
        assert status == 1, (check, findings)
        assert findings[check]["status"] == "error", findings
        assert words in findings[check]["summary"], findings[check]
        assert findings[check]["fix"]

    await broken({DOMAIN: {"TXT": ['"v=spf1 ip4:127.0.0.1 -all"']}}, "mx", "no MX")
    await broken({DOMAIN: {"MX": [f"10 mx.{DOMAIN}."], "TXT": ['"v=spf1 ip4:192.0.2.1 -all"']}},
                 "spf", "does not cover the relay")
    await broken({f"listd._domainkey.{DOMAIN}": {}}, "dkim", "no DKIM record")
    await broken({f"listd._domainkey.{DOMAIN}": {"TXT": ['"v=DKIM1; k=rsa; p=MIIBIjANBg"']}},
                 "dkim", "does not match")
    await broken({f"_dmarc.{DOMAIN}": {}}, "dmarc", "no DMARC record")
    await broken({"1.0.0.127.in-addr.arpa": {}}, "reverse-dns", "no reverse DNS")


async def test_a_relay_that_does_not_answer_and_a_domain_without_key(
        config_file: Path, db: Database, dns_server: DnsServer, listd_cli: CLI) -> None:
    dns_server.zone.update(good_zone(["v=DKIM1; k=rsa; p=x"]))
    cli = doctor_cli(config_file, dns_server, closed_port())
    status, findings = await run_doctor(cli)
    assert status == 1
    assert findings["relay"]["status"] == "error"
    assert "does not answer SMTP" in findings["relay"]["summary"]
    assert findings["dkim"]["status"] == "error"
    assert "listd dkim keygen" in findings["dkim"]["fix"]
    text = (await asyncio.to_thread(cli, "doctor", DOMAIN)).output
    assert "FAIL  relay" in text and "fix: start the MTA" in text
