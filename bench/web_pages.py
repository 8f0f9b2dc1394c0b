"""Server time of the web pages that grow with the data: the directory at 1,000 lists and an
owner's members page at 100,000 members (first page, a page deep in the list, a search).

    python bench/web_pages.py [--lists 1000] [--members 100000] [--requests 20] [--database URL]

The app is listd's own ASGI app (listd.web.app.create_app) called in-process through httpx's
ASGI transport, so the figure is listd's time to answer (routing, session, queries, template),
without the network. Prints the median and the 90th percentile per page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from scratch_db import scratch_database

from listd import lists, members, migrate
from listd.config import Config, HttpConfig, OutboundConfig, SmtpInConfig
from listd.database import Database
from listd.runtime import Runtime
from listd.web import sessions
from listd.web.admin import encode_cursor
from listd.web.app import create_app

DOMAIN = "lists.example.org"
BIG = f"big@{DOMAIN}"
OWNER = "owner@example.org"
TEMPLATES = Path(__file__).resolve().parent.parent / "conf" / "list-templates"


def populate(db: Database, config: Config, list_count: int, member_count: int) -> None:
    with db.session() as session:
        for number in range(list_count - 1):
            address = f"list{number:04d}@{DOMAIN}"
            lists.request_list(session, config, address, [OWNER], "discussion",
                               f"List number {number}")
            lists.approve_list(session, address)
        big = lists.request_list(session, config, BIG, [OWNER], "discussion", "The big one")
        lists.approve_list(session, BIG)
        members.import_members(session, big, (f"member{i:06d}@example{i % 499}.org Member {i}"
                                              for i in range(member_count)))


async def timed(client: httpx.AsyncClient, path: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
    return times


async def measure(runtime: Runtime, token: str, requests: int) -> dict[str, list[float]]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    cookies = {sessions.SESSION_COOKIE: token}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 cookies=cookies) as client:
        after = encode_cursor((f"member050000@example{50000 % 499}.org", "subscriber"))
        pages = {"directory /lists (1,000 lists)": "/lists",
                 "members, first page (100,000)": f"/lists/{BIG}/admin/members",
                 "members, page after member050000": f"/lists/{BIG}/admin/members?after={after}",
                 "members, search 'member0999'": f"/lists/{BIG}/admin/members?q=member0999"}
        return {name: await timed(client, path, requests) for name, path in pages.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lists", type=int, default=1000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, scratch_database(args.database) as url:
        config = Config(database=url, domains=(DOMAIN,), secret="bench",
                        smtp_in=SmtpInConfig(host="127.0.0.1", port=0),
                        http=HttpConfig(host="127.0.0.1", port=0),
                        outbound=OutboundConfig(mode="maildir", path=f"{scratch}/out"),
                        source=f"{scratch}/listd.yaml", list_templates=str(TEMPLATES))
        db = Database(url)
        migrate.upgrade(db.engine)
        started = time.perf_counter()
        populate(db, config, args.lists, args.members)
        print(f"setup: {args.lists} lists, {args.members} members in "
              f"{time.perf_counter() - started:.1f} s")
        runtime = Runtime.create(config, db)
        with db.session() as session:
            token = sessions.open_session(session, runtime, OWNER)
        results = asyncio.run(measure(runtime, token, args.requests))
        backend = "postgresql" if args.database else "sqlite"
        print(f"load average before timing: {os.getloadavg()[0]:.1f} ({backend})")
        for name, times in results.items():
            ordered = sorted(times)
            p90 = ordered[int(len(ordered) * 0.9) - 1]
            print(f"{name}: median {statistics.median(times) * 1000:.1f} ms, "
                  f"p90 {p90 * 1000:.1f} ms over {len(times)} requests")
        db.dispose()


if __name__ == "__main__":
    main()
