"""Expansion cost of `listd post send`'s recipient choices, in-process, without delivery.

    .venv/bin/python bench/post_selection.py [--members 20000] [--database URL] [--runs 3]

For a list of N members, times the expansion (expand_batch until done: the INSERT … SELECT
batches, and for a sample its one draw) of: a plain post to everyone; `--sample 50%`;
`--exclude-recipients-of` that sample (the other half); an A/B pair on `--sample 20%`.
Prints the median seconds and members queued per second of each, and the ratio to the plain
post.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch_db import scratch_database  # noqa: E402

from listd import lists, migrate  # noqa: E402
from listd.clock import SystemClock  # noqa: E402
from listd.config import BUILTIN_LIST_TEMPLATES, Config, OutboundConfig  # noqa: E402
from listd.database import Database  # noqa: E402
from listd.distribute.expand import expand_batch  # noqa: E402
from listd.distribute.post import accept_post  # noqa: E402
from listd.lists import find_list  # noqa: E402
from listd.models import Member, OutboundEntry, PostSend, StoredMessage  # noqa: E402
from listd.post_send import SendRequest, send  # noqa: E402
from listd.runtime import Runtime  # noqa: E402

LIST = "news@bench.example.org"


def setup(db: Database, config: Config, count: int) -> None:
    with db.session() as session:
        lists.request_list(session, config, LIST, ("owner@example.org",), "newsletter")
        lists.approve_list(session, LIST)
        list_id = find_list(session, LIST).id
        session.execute(insert(Member), [
            {"list_id": list_id, "address": f"m{i:07d}@example.com"} for i in range(count)])


def expand_send(db: Database, config: Config, runtime: Runtime, path: Path,
                **options: str) -> tuple[float, int, list[int]]:
    """Record a send, accept it as distribution would, and time its whole expansion."""
    with db.session() as session:
        ids = [s.id for s in send(session, config, SendRequest(LIST, path, subject="Bench",
                                                             **options), runtime.clock.now())]
    outbound = []
    for send_id in ids:
        with db.session() as session:
            one = session.get(PostSend, send_id)
            assert one is not None and one.message_id is not None
            raw = session.get(StoredMessage, one.message_id)
            assert raw is not None
            outbound.append(accept_post(session, runtime, find_list(session, LIST), raw.raw,
                                        one.message_id).id)
    started = time.perf_counter()
    while True:
        with db.session() as session:
            if expand_batch(session, runtime.clock.now()) is None:
                break
    elapsed = time.perf_counter() - started
    with db.reading() as session:
        queued = len(session.scalars(select(OutboundEntry.id).where(
            OutboundEntry.outbound_id.in_(outbound))).all())
    return elapsed, queued, outbound


def run(url: str, count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config = Config(database=url, domains=("bench.example.org",), secret="bench",
                        list_templates=str(BUILTIN_LIST_TEMPLATES),
                        outbound=OutboundConfig(mode="maildir", path=f"{scratch}/out"))
        db = Database(url)
        migrate.upgrade(db.engine)
        setup(db, config, count)
        runtime = Runtime.create(config, db, SystemClock())
        text = Path(scratch) / "post.md"
        text.write_text("Hello.\n" * 50)
        b_file = Path(scratch) / "b.md"
        b_file.write_text("Hello, B.\n" * 50)
        results: dict[str, list[tuple[float, int]]] = {}
        for _ in range(runs):
            plain = expand_send(db, config, runtime, text)
            half = expand_send(db, config, runtime, text, sample="50%")
            rest = expand_send(db, config, runtime, text,
                               exclude=",".join(str(i) for i in half[2]))
            ab = expand_send(db, config, runtime, text, sample="20%", variant=b_file)
            for name, result in (("everyone", plain), ("--sample 50%", half),
                                 ("--exclude-recipients-of the sample", rest),
                                 ("A/B --sample 20%", ab)):
                results.setdefault(name, []).append(result[:2])
            # Keep the queue the same size for every run.
            with db.session() as session:
                session.execute(delete(OutboundEntry))
        db.dispose()
    base = statistics.median(t for t, _ in results["everyone"])
    print(f"{count} members, {runs} runs, {'PostgreSQL' if 'postgresql' in url else 'SQLite'}")
    for name, values in results.items():
        seconds = statistics.median(t for t, _ in values)
        queued = values[0][1]
        print(f"  {name:<36} {seconds:7.3f} s  {queued:>7} queued  "
              f"{queued / seconds:>9.0f} members/s  x{seconds / base:.2f} of everyone's time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with scratch_database(args.database) as url:
        run(url, args.members, args.runs)


if __name__ == "__main__":
    main()
