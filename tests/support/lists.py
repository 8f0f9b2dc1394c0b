"""Setting up lists and members directly in the database, as the CLI would."""

from __future__ import annotations

from listd import lists, members
from listd.config import Config
from listd.database import Database
from listd.models import Role


def make_list(db: Database, config: Config, address: str, *, template: str = "discussion",
              owners: tuple[str, ...] = ("owner@example.org",), approve: bool = True,
              subscribers: tuple[str, ...] = (), moderators: tuple[str, ...] = (),
              **settings: object) -> None:
    with db.session() as session:
        created = lists.request_list(session, config, address, owners, template)
        for key, value in settings.items():
            lists.set_list_setting(session, address, key, value)
        for address_ in subscribers:
            members.add_member(session, created, address_)
        for address_ in moderators:
            members.add_member(session, created, address_, role=Role.MODERATOR)
        if approve:
            lists.approve_list(session, address)
