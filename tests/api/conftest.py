"""An API client on a real `listd serve` HTTP port, and keys made with the real CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from listd.api import keys
from listd.config import Config
from listd.database import Database
from listd.serve import Daemon
from tests.support.lists import make_list

NEWS = "news@lists.example.org"
OTHER = "other@lists.example.org"
OWNER = "owner@example.org"


def make_key(db: Database, name: str, *lists: str) -> str:
    with db.session() as session:
        return keys.add_key(session, name, lists)


@pytest.fixture
def two_lists(db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="newsletter", owners=(OWNER,),
              subscribers=("ann@example.org", "bob@example.net"))
    make_list(db, config, OTHER, owners=("other-owner@example.org",),
              subscribers=("carol@example.org",))


@pytest.fixture
async def api(daemon: Daemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}/api/v1",
                                 timeout=30) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
