"""Digests built once and durably: the posts waiting, the numbered digest, its fan-out.

A distributed post is recorded as a DigestPost while a member of the list reads digests.
Building a digest is one transaction: the Digest row, its posts taken by a conditional UPDATE
(only posts no digest holds yet, so a post is in exactly one digest), and one outbound
message per form, each expanded by the usual expander to the members of that form and sent
through the durable queue (VERP, DKIM, list headers, one-click unsubscribe) like a post.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from listd import audit
from listd.archive.urls import message_url
from listd.database import affected_rows
from listd.delivery_modes import DIGEST_MODES
from listd.digest.compose import DigestIssue, DigestPostView, compose
from listd.digest.schedule import Pending, is_due
from listd.distribute.render import ListView, render_digest
from listd.models import (
    DeliveryMode,
    Digest,
    DigestPost,
    ListStatus,
    MailingList,
    Member,
    MemberStatus,
    OutboundMessage,
    Role,
)
from listd.runtime import Runtime
from listd.settings import ListSettings

log = logging.getLogger("listd.digest")


# Built once: asked for every accepted post.
_HAS_DIGEST_READERS = select(exists().where(
    Member.list_id == bindparam("list_id"), Member.role == Role.SUBSCRIBER,
    Member.status == MemberStatus.ENABLED, Member.delivery_mode.in_(DIGEST_MODES)))


def has_digest_readers(session: Session, mailing_list: MailingList) -> bool:
    return bool(session.scalar(_HAS_DIGEST_READERS, {"list_id": mailing_list.id}))


def record_post(session: Session, mailing_list: MailingList, raw: bytes,
                archive_number: int | None, now: dt.datetime) -> None:
    """Keep RAW (as its author sent it) for the next digest, if anyone reads digests."""
    if has_digest_readers(session, mailing_list):
        session.add(DigestPost(list_id=mailing_list.id, raw=raw, size=len(raw),
                               archive_number=archive_number, created_at=now))


def pending(session: Session, list_id: int) -> Pending:
    count, size, oldest = session.execute(
        select(func.count(), func.coalesce(func.sum(DigestPost.size), 0),
               func.min(DigestPost.created_at))
        .where(DigestPost.list_id == list_id, DigestPost.digest_id.is_(None))).one()
    return Pending(int(count), int(size), oldest)


def lists_waiting(session: Session) -> list[MailingList]:
    ids = select(DigestPost.list_id).where(DigestPost.digest_id.is_(None)).distinct()
    return list(session.scalars(select(MailingList).where(
        MailingList.id.in_(ids), MailingList.status == ListStatus.ACTIVE)
        .order_by(MailingList.id)))


def next_number(session: Session, list_id: int, now: dt.datetime) -> tuple[int, int]:
    """Volume and issue of the next digest: a new volume each calendar year."""
    last = session.execute(select(Digest.volume, Digest.issue, Digest.created_at)
                           .where(Digest.list_id == list_id)
                           .order_by(Digest.id.desc()).limit(1)).first()
    if last is None:
        return 1, 1
    volume, issue, created = last
    if created.year != now.year:
        return volume + 1, 1
    return volume, issue + 1


def build_digest(session: Session, runtime: Runtime, mailing_list: MailingList,
                 now: dt.datetime, actor: str = audit.SYSTEM_ACTOR) -> Digest | None:
    """Take every waiting post of MAILING_LIST into a new digest and queue its forms."""
    # The list's row lock: two processes never number (or fill) two digests at once.
    session.execute(select(MailingList.id).where(MailingList.id == mailing_list.id)
                    .with_for_update())
    volume, issue = next_number(session, mailing_list.id, now)
    digest = Digest(list_id=mailing_list.id, volume=volume, issue=issue, created_at=now)
    session.add(digest)
    session.flush()
    taken = affected_rows(session.execute(
        update(DigestPost).where(DigestPost.list_id == mailing_list.id,
                                 DigestPost.digest_id.is_(None))
        .values(digest_id=digest.id)))
    if not taken:
        session.delete(digest)
        return None
    digest.posts = taken
    posts = _views(session, runtime, mailing_list, digest.id)
    view = ListView.of(mailing_list, runtime.config)
    for mode in DIGEST_MODES:
        _queue_form(session, mailing_list, view, mode, DigestIssue(volume, issue, now), posts,
                    now)
    audit.record(session, actor, "digest.built", mailing_list, None, volume=volume,
                 issue=issue, posts=taken)
    log.info("%s: digest vol %d issue %d with %d posts", mailing_list.address, volume, issue,
             taken)
    return digest


def _views(session: Session, runtime: Runtime, mailing_list: MailingList,
           digest_id: int) -> list[DigestPostView]:
    settings = ListSettings.of(mailing_list)
    rows = session.execute(select(DigestPost.raw, DigestPost.archive_number)
                           .where(DigestPost.digest_id == digest_id).order_by(DigestPost.id))
    return [DigestPostView.of(raw, message_url(settings, runtime.config.http.base_url,
                                               mailing_list.address, number)
                              if number else None) for raw, number in rows]


def _queue_form(session: Session, mailing_list: MailingList, view: ListView,
                mode: DeliveryMode, issue: DigestIssue, posts: list[DigestPostView],
                now: dt.datetime) -> None:
    rendered = render_digest(compose(mode, view, issue, posts), view)
    session.add(OutboundMessage(
        list_id=mailing_list.id, kind="digest", audience=mode, raw=rendered.raw, verp=True,
        expanded=False, expanded_through=0, created_at=now,
        envelope_sender=f"{mailing_list.name}-bounces@{mailing_list.domain.name}"))


def send_digests(session: Session, runtime: Runtime, now: dt.datetime, *, force: bool = False,
                 only: MailingList | None = None,
                 actor: str = audit.SYSTEM_ACTOR) -> list[Digest]:
    """Build the digests that are due (every waiting one with FORCE), of ONLY or every list."""
    built = []
    for mailing_list in [only] if only is not None else lists_waiting(session):
        settings = ListSettings.of(mailing_list)
        if not (force or is_due(settings, pending(session, mailing_list.id), now)):
            continue
        digest = build_digest(session, runtime, mailing_list, now, actor)
        if digest is not None:
            built.append(digest)
    return built


def due_lists(session: Session, now: dt.datetime) -> list[int]:
    return [ml.id for ml in lists_waiting(session)
            if is_due(ListSettings.of(ml), pending(session, ml.id), now)]


def digest_job(runtime: Runtime) -> int:
    """The periodic job of `listd serve` (every tick): send the digests that are due. Looking
    is a read; the write transaction is taken only when some list's digest is due."""
    now = runtime.clock.now()
    with runtime.db.reading() as session:
        if not due_lists(session, now):
            return 0
    with runtime.db.session() as session:
        return len(send_digests(session, runtime, now))
