"""Personalised send benchmark: one post to N named members through the API door of
`listd serve`, without merge fields and then with them, in the same run.

    .venv/bin/python bench/personalised_send.py [--members 10000] [--database URL]
                                                [--no-dkim] [--one-click] [--rounds 1]
                                                [--tracking aggregate|per_member]

Both posts are submitted with POST /api/v1/lists/LIST/posts (the signed-in door whose posts
get merge fields). The plain post is rendered and DKIM-signed once for all; the personalised
one (`{{ name }}` in the Subject, text and HTML, `{{ address }}` in both parts) is filled and
signed per recipient. Members are spread over 50 domains, their names non-ASCII (so every
personalised copy is 8-bit). No http.base_url unless --one-click or --tracking (which
tracks the two links of both posts): with one, every post carries a per-recipient one-click
token, so the plain post is signed per recipient too. Relay: Postfix's `smtp-sink` when
installed, else an in-Python sink (see fanout.py). Prints recipients/s from the API's 202 to
the last delivery, and listd's CPU per recipient (user + system, from /proc: the steadier
figure on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanout import (  # noqa: E402
    cpu_seconds,
    free_port,
    peak_rss_mb,
    start_sink,
    stop,
    wait_for_port,
)
from scratch_db import scratch_database  # noqa: E402

from listd import lists, members, migrate  # noqa: E402
from listd.api import keys  # noqa: E402
from listd.config import Config  # noqa: E402
from listd.database import Database  # noqa: E402
from listd.deliverability.dkim_keys import Algorithm, create_key  # noqa: E402
from listd.models import OutboundEntry, OutboundState  # noqa: E402

LIST = "news@bench.example.org"
OWNER = "owner@example.org"
PARAGRAPH = ("this is the monthly newsletter of the association. It carries news, dates and "
             "a few words from the board.\n")


def populate(url: str, count: int, dkim: bool, tracking: str) -> str:
    """The list and its named members; returns an API key for the list."""
    db = Database(url)
    migrate.upgrade(db.engine)
    config = Config(database=url, domains=("bench.example.org",))
    with db.session() as session:
        created = lists.request_list(session, config, LIST, [OWNER], template="newsletter")
        lists.approve_list(session, LIST)
        lists.set_list_setting(session, LIST, "dmarc_mitigation", "none")
        lists.set_list_setting(session, LIST, "tracking", tracking)
        members.import_members(session, created, (
            f"reader{n}@example{n % 50}.com Lecteur Nº{n} Éluard" for n in range(count)))
        if dkim:
            create_key(session, "bench.example.org", "bench", Algorithm.RSA)
        key = keys.add_key(session, "bench", [LIST])
    db.dispose()
    return key


def draft(personal: bool) -> dict[str, str]:
    hello = "Dear {{ name }} ({{ address }}), " if personal else "Dear members, "
    text = (hello + PARAGRAPH * 30)[:3000] + "\nhttps://example.org/agenda\n"
    html = (f"<p>{hello}</p>" + "<p>" + PARAGRAPH * 10 + "</p>"
            + '<p><a href="https://example.org/agenda">agenda</a> '
              '<a href="https://example.org/join">join</a></p>')
    subject = "Monthly news for {{ name }}" if personal else "Monthly news"
    return {"from": OWNER, "subject": subject, "text": text, "html": html}


def submit(http_port: int, key: str, body: dict[str, str]) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/api/v1/lists/{LIST}/posts",
        data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        if answer.status != 202:
            raise SystemExit(f"the API answered {answer.status}: {answer.read()[:500]!r}")


def sent_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count(OutboundEntry.id)).where(
                OutboundEntry.state == OutboundState.SENT)).scalar_one())
    finally:
        engine.dispose()


def one_send(url: str, pid: int, http_port: int, key: str, personal: bool, count: int,
             already: int, limit: float) -> tuple[float, float, int]:
    """(recipients/s, CPU µs per recipient, sent) for one post to every member."""
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    submit(http_port, key, draft(personal))
    sent = 0
    while time.monotonic() < started + limit:
        sent = sent_count(url) - already
        if sent >= count:
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    return sent / elapsed, cpu / max(sent, 1) * 1e6, sent


def run(count: int, requested_db: str | None, dkim: bool, tracking: str, one_click: bool,
        rounds: int, limit: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="listd-bench-"))
    sink = listd = None
    try:
        with scratch_database(requested_db) as url:
            key = populate(url, count, dkim, tracking)
            sink_port, http_port = free_port(), free_port()
            # A base_url makes every post personal (one-click token): only when asked for.
            base_url = ", base_url: https://bench.example.org" \
                if one_click or tracking != "off" else ""
            sink, sink_name = start_sink(sink_port)
            config = workdir / "listd.yaml"
            config.write_text(
                f"database: {url}\ndomains: [bench.example.org]\nsecret: bench\n"
                f"smtp_in: {{host: 127.0.0.1, port: 0}}\n"
                f"http: {{host: 127.0.0.1, port: {http_port}{base_url}}}\n"
                f"outbound: {{mode: smtp, host: 127.0.0.1, port: {sink_port}, "
                f"connections: 10}}\n")
            with open(workdir / "serve.log", "wb") as log:
                listd = subprocess.Popen(
                    [sys.executable, "-m", "listd.cli", "--config", str(config), "serve",
                     "--log-level", "WARNING"], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                    env={**os.environ, "PYTHONWARNINGS": "ignore"})
            try:
                wait_for_port(http_port, time.monotonic() + 90)
            except SystemExit:
                print((workdir / "serve.log").read_text()[-3000:], file=sys.stderr)
                raise
            backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            already = 0
            for _ in range(rounds):
                for personal in (False, True):
                    rate, cpu, sent = one_send(url, listd.pid, http_port, key, personal, count,
                                               already, limit)
                    already += sent
                    label = "personalised" if personal else "plain       "
                    status = "" if sent >= count else f"  INCOMPLETE ({sent} sent)"
                    print(f"N={count}  {backend}  DKIM {'on ' if dkim else 'off'}  "
                          f"tracking={tracking}  {label}  {rate:7.0f} recipients/s  "
                          f"{cpu:6.0f} µs CPU/recipient  load {os.getloadavg()[0]:.1f}  "
                          f"peak RSS {peak_rss_mb(listd.pid):.0f} MB  (sink: {sink_name})"
                          f"{status}", flush=True)
    finally:
        stop(listd, sink)
        shutil.rmtree(workdir, ignore_errors=True)


def per_recipient_cost(recipients: int = 1000) -> None:
    """CPU µs to make one recipient's signed copy in process (what delivery does per job):
    the plain post (signed once: nothing per recipient), a one-click token only, and merge
    fields with the token. time.process_time, so other load on the machine matters little."""
    from listd.deliverability.dkim_keys import generate_private_key
    from listd.deliverability.signing import DkimSigner
    from listd.distribute.claims import OutboundInfo
    from listd.distribute.personal import PLACEHOLDER, MemberValues, markers_in
    from listd.distribute.prepared import Prepared, _crlf
    from listd.distribute.render import ListView, render_post
    from listd.distribute.smtp_client import wire_body
    from listd.distribute.submitted import prepare_submitted
    from listd.settings import ListSettings
    from listd.submission import Draft, compose

    signer = DkimSigner.from_pem("bench.example.org", "bench", Algorithm.RSA,
                                 generate_private_key(Algorithm.RSA))
    view = ListView("news", "bench.example.org", "News", ListSettings(),
                    base_url="https://bench.example.org")
    values = MemberValues("bench")

    class _List:  # what compose() reads of a list
        address = LIST
        domain = type("D", (), {"name": "bench.example.org"})()

    def cost(personal: bool) -> float:
        body = draft(personal)
        raw = compose(_List(), Draft(OWNER, body["subject"], body["text"],  # type: ignore
                                     body["html"]))
        raw = _crlf(render_post(prepare_submitted(raw, view, 1, "bench"), view).raw)
        info = OutboundInfo(1, raw, True, "news-bounces@bench.example.org", 1, "news",
                            "bench.example.org")
        prepared = Prepared(info, wire_body(raw), True, False,
                            signing=signer.template(raw, PLACEHOLDER), markers=markers_in(raw))
        started = time.process_time()
        for n in range(recipients):
            merge = values.pairs(prepared.markers, 1, f"reader{n}@example.com",
                                 f"Lecteur Nº{n} Éluard", n) if prepared.markers else []
            prepared.body_for(f"token{n}", merge)
        return (time.process_time() - started) / recipients * 1e6

    print(f"per recipient, in process (RSA-2048): one-click token only {cost(False):5.0f} µs, "
          f"merge fields + token {cost(True):5.0f} µs (load {os.getloadavg()[0]:.1f})",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--database", default=None,
                        help="a PostgreSQL URL (a schema is created and dropped); "
                             "default: a fresh SQLite file")
    parser.add_argument("--no-dkim", action="store_true", help="send unsigned")
    parser.add_argument("--tracking", choices=("off", "aggregate", "per_member"),
                        default="off")
    parser.add_argument("--one-click", action="store_true",
                        help="set http.base_url: one-click tokens make the plain post "
                             "personal too")
    parser.add_argument("--rounds", type=int, default=1,
                        help="plain + personalised pairs to run in the same listd")
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--micro-only", action="store_true",
                        help="only the in-process per-recipient cost")
    args = parser.parse_args()
    per_recipient_cost()
    if args.micro_only:
        return
    run(args.members, args.database, not args.no_dkim, args.tracking, args.one_click,
        args.rounds, args.time_limit)


if __name__ == "__main__":
    main()
