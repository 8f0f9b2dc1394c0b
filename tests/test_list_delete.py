"""`listd list delete`: members, held posts and the outbound queue go with the list."""

from __future__ import annotations

from sqlalchemy import func, select

from listd.config import Config
from listd.database import Database
from listd.models import HeldMessage, InboundMessage, Member, OutboundMessage
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import settle

LIST = "club@lists.example.org"


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


async def test_delete_takes_held_posts_and_queue_and_purge_the_arrivals(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, LIST, subscribers=("bob@example.org",))
    await in_thread(post, daemon.port, "stranger@example.net", LIST, "Held", "From outside.\n")
    await in_thread(post, daemon.port, "bob@example.org", LIST, "Sent", "From Bob.\n")
    await settle(db, 2)
    assert (count(db, HeldMessage), count(db, OutboundMessage) >= 1) == (1, True)
    queued = count(db, OutboundMessage)

    deleted = listd_cli.ok("list", "delete", LIST, "--yes").stdout
    assert deleted == (f"list {LIST} deleted with its 2 members, 1 held posts and {queued} "
                       "queued mails\n")
    assert (count(db, Member), count(db, HeldMessage), count(db, OutboundMessage)) == (0, 0, 0)
    # What arrived stays on record, detached from the list.
    assert count(db, InboundMessage) == 2

    make_list(db, config, LIST)
    await in_thread(post, daemon.port, "stranger@example.net", LIST, "Again", "Hi.\n")
    await settle(db, 3)
    listd_cli.ok("list", "delete", LIST, "--yes", "--purge")
    assert count(db, InboundMessage) == 2
