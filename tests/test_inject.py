"""`listd inject`: a message stored as if it had arrived by SMTP, then handled the same way."""

from __future__ import annotations

from listd.config import Config
from listd.database import Database
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread
from tests.support.lists import make_list
from tests.support.outbox import outcomes, sent_to, settle

NEWS = "news@lists.example.org"
POST = (b"From: Alice <alice@example.org>\r\nTo: news@lists.example.org\r\n"
        b"Subject: injected\r\nMessage-ID: <inject-1@example.org>\r\n\r\nHello.\r\n")


async def test_an_injected_post_is_distributed(daemon: Daemon, db: Database, config: Config,
                                               listd_cli: CLI) -> None:
    make_list(db, config, NEWS, subscribers=("alice@example.org", "bob@example.org"))
    result = await in_thread(lambda: listd_cli.ok("inject", NEWS, input=POST))
    assert result.stdout.startswith("queued as ")
    await settle(db)
    assert outcomes(db)[0].startswith("accepted")
    assert [str(w.message["Subject"]) for w in sent_to(config, "bob@example.org")] == [
        "[news] injected"]


def test_inject_errors_are_one_line(listd_cli: CLI, db: Database, config: Config) -> None:
    make_list(db, config, NEWS)
    unknown = listd_cli("inject", "ghost@lists.example.org", input=POST)
    assert unknown.exit_code == 1
    assert "ghost@lists.example.org takes no mail: 5.1.1" in unknown.stderr
    empty = listd_cli("inject", NEWS, input=b"\r\n")
    assert empty.exit_code == 1 and "the message is empty" in empty.stderr
