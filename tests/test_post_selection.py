"""The expansion of a sampled A/B pair, batch by batch and across sessions (as after a crash):
one draw, recorded before anything is queued, the same members queued whatever the batches."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from listd import members
from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.distribute.expand import expand_batch
from listd.distribute.post import accept_post
from listd.lists import find_list
from listd.models import OutboundEntry, PostSelection, PostSend, StoredMessage
from listd.post_send import SendRequest, send
from listd.runtime import Runtime
from tests.support.lists import make_list
from tests.test_distribution import NEWS


def test_an_ab_sample_is_drawn_once_and_expanded_in_small_batches(
        db: Database, config: Config, clock: OffsetClock, tmp_path: Path) -> None:
    make_list(db, config, NEWS, template="newsletter")
    with db.session() as session:
        mailing_list = find_list(session, NEWS)
        for i in range(31):
            members.add_member(session, mailing_list, f"r{i:02d}@example.com")
    (tmp_path / "a.md").write_text("A\n")
    (tmp_path / "b.md").write_text("B\n")
    runtime = Runtime.create(config, db, clock)
    with db.session() as session:
        sends = send(session, config, SendRequest(
            NEWS, tmp_path / "a.md", subject="Pick", sample="21", variant=tmp_path / "b.md"),
            clock.now())
        ids = [one.id for one in sends]
    # Distribution accepts B first: the draw is made by whichever expands first.
    for send_id in reversed(ids):
        with db.session() as session:
            one = session.get(PostSend, send_id)
            assert one is not None and one.message_id is not None
            raw = session.get(StoredMessage, one.message_id)
            assert raw is not None
            accept_post(session, runtime, find_list(session, NEWS), raw.raw, one.message_id)
    # Batches of 4, each in its own transaction, as a resumed expansion runs them.
    while True:
        with db.session() as session:
            if expand_batch(session, clock.now(), batch_size=4) is None:
                break
    with db.reading() as session:
        chosen = {member: variant for member, variant in session.execute(
            select(PostSelection.member_id, PostSelection.variant))}
        outbound = {one.variant: one.outbound_id for one in session.scalars(
            select(PostSend).where(PostSend.id.in_(ids)))}
        # Only the two posts' copies: the owners' subscription notices are queued too.
        queued = session.execute(select(OutboundEntry.member_id, OutboundEntry.outbound_id)
                                 .where(OutboundEntry.outbound_id.in_(outbound.values()))
                                 ).all()
    assert sorted(chosen.values()).count("A") == 11 and list(chosen.values()).count("B") == 10
    assert len(queued) == 21 and len({member for member, _ in queued}) == 21
    assert {member: "A" if post == outbound["A"] else "B" for member, post in queued} == chosen
