"""List requests: every listmaster is told, the list refuses mail until approved, and the
requester and the owners learn the answer."""

from __future__ import annotations

import pytest

from listd.config import Config
from listd.database import Database
from listd.lifecycle import NotListmaster, approve_list_request, request_list
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.outbox import sent_to, settle
from tests.test_smtp_in import rcpt_reply

NEWS = "news@lists.example.org"
LISTMASTER = "listmaster@example.org"


async def test_request_notice_approval_notice_then_mail_is_accepted(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    await in_thread(listd_cli.ok, "list", "request", NEWS, "--owner", "alice@example.org",
                    "--template", "newsletter", "--subject", "Association news")
    daemon.runtime.signals.outbound.set()
    await settle(db, 0)
    notice, = sent_to(config, LISTMASTER)
    assert notice.message["Subject"] == f"List request: {NEWS}"
    body = notice.message.get_body(("plain",)).get_content()
    assert "newsletter" in body and "alice@example.org" in body
    assert f"listd list approve {NEWS}" in body
    assert (await in_thread(rcpt_reply, daemon.port, NEWS)).startswith("550 5.1.1")

    await in_thread(listd_cli.ok, "list", "approve", NEWS)
    daemon.runtime.signals.outbound.set()
    await settle(db, 0)
    opened, = sent_to(config, "alice@example.org")
    assert opened.message["Subject"] == f"Your list {NEWS} is open"

    await in_thread(listd_cli.ok, "member", "add", NEWS, "bob@example.org")
    await in_thread(post, daemon.port, "alice@example.org", NEWS, "Issue 1", "News.\n")
    await settle(db)
    assert [w.message["Subject"] for w in sent_to(config, "bob@example.org")] == ["[news] Issue 1"]


async def test_a_refused_request_is_told_with_its_reason(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    with db.session() as session:
        request_list(session, config, NEWS, ["alice@example.org"], requested_by="carol@example.org",
                     confirm_token="abc123")
    await in_thread(listd_cli.ok, "list", "reject", NEWS, "--reason", "name taken elsewhere")
    daemon.runtime.signals.outbound.set()
    await settle(db, 0)
    notice, = sent_to(config, LISTMASTER)
    assert "CONFIRM abc123" in notice.message.get_body(("plain",)).get_content()
    # A reply approves: it goes to the robot's confirm address, as the list takes no mail yet.
    assert notice.message["Reply-To"] == "listd-confirm+abc123@lists.example.org"
    for told in ("carol@example.org", "alice@example.org"):
        refused, = sent_to(config, told)
        assert "name taken elsewhere" in refused.message.get_body(("plain",)).get_content()
    assert (await in_thread(rcpt_reply, daemon.port, NEWS)).startswith("550 5.1.1")


def test_only_a_listmaster_approves(db: Database, config: Config) -> None:
    with db.session() as session:
        request_list(session, config, NEWS, ["alice@example.org"])
    with pytest.raises(NotListmaster), db.session() as session:
        approve_list_request(session, config, NEWS, actor="alice@example.org")
    with db.session() as session:
        assert approve_list_request(session, config, NEWS,
                                    actor="ListMaster@example.org").status.value == "active"
