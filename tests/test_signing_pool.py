"""Per-recipient DKIM signing in the signing pool's processes, through a real `listd serve`:
the mail verifies, a SIGKILL mid-fan-out leaves no orphan worker and resends at most what was
on the wire, and SIGTERM stops the workers with the daemon."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from listd.config import Config
from listd.database import Database
from listd.deliverability.dkim_keys import Algorithm
from listd.deliverability.dkim_signature import DkimSigner
from listd.deliverability.signing_pool import SigningPool, sign_many
from listd.distribute.delivery import UNRECORDED_AT_MOST
from tests.deliverability.test_deliverability_e2e import publish_list_key, verifies
from tests.support.client import in_thread, post
from tests.support.dns_server import DnsServer, Zone
from tests.support.keys import private_key
from tests.support.process import ServeProcess
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution_processes import NEWS, all_sent, newsletter, relay_config

ONE_CLICK = ", base_url: https://lists.example.org"
MESSAGE = (b"From: a@lists.example.org\r\nTo: b@example.com\r\nSubject: Hi\r\n"
           b"List-Unsubscribe: <https://lists.example.org/unsubscribe/TOKEN>\r\n\r\n"
           b"Leave: https://lists.example.org/unsubscribe/TOKEN\r\n")


@pytest.mark.parametrize("algorithm", [Algorithm.RSA, Algorithm.ED25519])
async def test_the_pool_signs_exactly_as_the_daemon_would(algorithm: Algorithm) -> None:
    signer = DkimSigner.from_pem("lists.example.org", "listd", algorithm,
                                 private_key(algorithm))
    template = signer.template(MESSAGE, b"TOKEN", timestamp=1700000000)
    tokens = [b"tok%d" % n for n in range(70)]
    expected = [template.signature(token) for token in tokens]
    # Deterministic signatures (PKCS#1 v1.5, Ed25519): the same bytes from the parts alone.
    assert sign_many(template.parts(), tokens) == expected
    pool = SigningPool(2)
    try:
        assert await pool.signatures(template, tokens) == expected
    finally:
        pool.close()


def children(pid: int) -> set[int]:
    """The live processes whose parent is PID (listd's signing workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def gone(pids: set[int]) -> bool:
    """No process of PIDS runs any more (a zombie waiting for its reaper counts as gone)."""
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            return False
    return True


def serve_pid(serve: ServeProcess) -> int:
    assert serve.process is not None
    return serve.process.pid


async def test_a_signed_one_click_fan_out_survives_sigkill_and_leaves_no_orphan_worker(
        db: Database, config: Config, sink: Sink, zone: Zone, dns_server: DnsServer,
        tmp_path: Path) -> None:
    count, connections = 600, 4
    publish_list_key(db, zone)
    newsletter(db, config, count)
    config_file = relay_config(config, sink, tmp_path / "relay.yaml", batch=100,
                               connections=connections, outbound=", signing_workers: 2",
                               http=ONE_CLICK)
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        await in_thread(post, serve.port, "owner@example.org", NEWS, "Signed news")
        workers = await wait_until(lambda: len(children(serve_pid(serve))) >= 2 and
                                   children(serve_pid(serve)), timeout=60,
                                   what="the two signing workers to start")
        await wait_until(lambda: len(sink.received) >= 100, timeout=60,
                         what="the signed fan-out to be under way")
    finally:
        serve.kill()
    assert len(sink.received) < count, "the kill came in the middle of the fan-out"
    await wait_until(lambda: gone(workers), timeout=10,
                     what="the signing workers to die with the daemon")

    serve.start()
    try:
        await wait_until(lambda: all_sent(db, count), timeout=120,
                         what="the restarted process to finish the fan-out")
        workers = children(serve_pid(serve))
        assert workers, "the restarted daemon signs in its pool too"
    finally:
        assert serve.terminate() == 0
    await wait_until(lambda: gone(workers), timeout=10,
                     what=f"SIGTERM to stop the signing workers with the daemon: {workers}")
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count, "every recipient got the post"
    # Only what was on the wire at the kill can have gone twice.
    assert sum(per_recipient.values()) - count <= connections * UNRECORDED_AT_MOST
    for mail in sink.received[::50]:
        assert verifies(mail.raw, dns_server), mail.recipients
    tokens = {mail.message["List-Unsubscribe"] for mail in sink.received}
    assert len(tokens) == count, "each recipient has a token (and a signature) of its own"
