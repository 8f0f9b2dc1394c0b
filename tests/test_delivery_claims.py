"""Claims on the outbound queue: leases renewed while a paced batch waits, and results written
only over this process's own claims."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

from sqlalchemy import select, update

from listd.clock import OffsetClock, utcnow
from listd.config import Config, QuotaConfig
from listd.database import Database
from listd.distribute import claims
from listd.distribute.outcome import SendResult, SendStatus
from listd.distribute.queue import enqueue_mail
from listd.models import OutboundEntry, OutboundState
from listd.runtime import Runtime
from listd.serve import Daemon
from tests.conftest import with_relay
from tests.support.lists import make_list
from tests.support.sink import Sink
from tests.support.waiting import wait_until
from tests.test_distribution import NEWS, members, post_raw, settled, simple_post


async def test_a_batch_paced_past_its_lease_reaches_every_member_exactly_once(
        config: Config, db: Database, clock: OffsetClock, sink: Sink) -> None:
    relayed = with_relay(config, sink)
    # 40 a second: each 60-row batch waits 1.5 s in memory, past a 1 s lease.
    paced = dataclasses.replace(relayed, outbound=dataclasses.replace(
        relayed.outbound, quota=QuotaConfig(rate=40), batch_size=60, claim_lease=1.0,
        connections=2))
    count = 150
    make_list(db, config, NEWS, posting="anyone", subscribers=members(count))
    server = Daemon(Runtime.create(paced, db, clock))
    await server.start()
    try:
        await post_raw(server.port, simple_post())
        await wait_until(lambda: settled(db, count), timeout=60, what="the paced fan-out")
    finally:
        await server.stop()
    per_recipient = Counter(r.recipients[0] for r in sink.received)
    assert len(per_recipient) == count
    assert max(per_recipient.values()) == 1, per_recipient.most_common(3)


def test_a_result_never_overwrites_another_process_claim(db: Database) -> None:
    with db.session() as session:
        outbound_id = enqueue_mail(session, sender="a@example.org",
                                   recipients=["x@example.com", "y@example.com"],
                                   message=b"Subject: x\r\n\r\nx\r\n")
    with db.session() as session:
        taken = claims.claim_due(session, utcnow(), "host-a:1:aaaa", 10)
    assert len(taken) == 2
    lost, given_back = taken
    with db.session() as session:
        # One row taken back and claimed by another process, the other only given back.
        session.execute(update(OutboundEntry).where(OutboundEntry.id == lost.entry_id)
                        .values(claimed_by="host-b:2:bbbb"))
        claims.release(session, [given_back.entry_id])
    sent = SendResult(SendStatus.SENT, "250 ok")
    with db.session() as session:
        claims.record_results(session, utcnow(), dt.timedelta(days=5),
                              [(lost, sent), (given_back, sent)], {outbound_id: None},
                              "host-a:1:aaaa")
    with db.session() as session:
        rows = {r.id: r for r in session.scalars(select(OutboundEntry))}
    assert rows[lost.entry_id].state is OutboundState.SENDING
    assert rows[lost.entry_id].claimed_by == "host-b:2:bbbb"
    assert rows[given_back.entry_id].state is OutboundState.SENT, "sent: not to go again"
