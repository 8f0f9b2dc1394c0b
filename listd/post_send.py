"""`listd post send`: a prepared message sent as the list, now or at a time, to all, a sample,
the members who did not get earlier posts, or as an A/B pair; and `post cancel`.

A send is a durable row (PostSend) first. At its time (at once without `--at`) it is submitted
through the same path as an owner's post from the API (submission.py: posting rules, rendering,
footer, DKIM, one-click); distribution links the outbound message back to the send, and the
expansion (distribute/selection.py) queues only the members the send names.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import formatdate, make_msgid
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from listd import audit
from listd.config import Config
from listd.database import affected_rows
from listd.errors import UserError
from listd.lists import find_list
from listd.models import (
    DeliverySummary,
    InboundMessage,
    MailingList,
    Member,
    OutboundMessage,
    PostSend,
    PostSendState,
    Role,
)
from listd.post_report import resolve
from listd.runtime import Runtime
from listd.submission import check_poster, submit_raw

log = logging.getLogger("listd.post_send")

DOOR = "cli:post-send"
TEST_PREFIX = "[TEST] "
TEST_HEADER = "X-Listd-Test"
# Headers of a prepared .eml that listd sets itself (or that belong to an earlier delivery).
REPLACED = ("From", "To", "Cc", "Bcc", "Date", "Message-ID", "Return-Path", "Delivered-To",
            "DKIM-Signature", "ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results",
            "Received", "Sender", "Reply-To")
SAMPLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Sample:
    count: int | None = None
    percent: float | None = None


def parse_sample(text: str) -> Sample:
    """`50%` or `2000`: a part of the members, by percentage or by count."""
    found = SAMPLE.match(text)
    if found is None:
        raise UserError(f"--sample: {text!r} is neither a count (2000) nor a percentage (50%)")
    number, percent = float(found.group(1)), bool(found.group(2))
    if percent:
        if not 0 < number <= 100:
            raise UserError(f"--sample: {text!r} must be more than 0% and at most 100%")
        return Sample(percent=number)
    if number != int(number) or number < 1:
        raise UserError(f"--sample: {text!r} must be a whole number of members, at least 1")
    return Sample(count=int(number))


def parse_at(text: str, now: dt.datetime) -> dt.datetime:
    """`2026-12-24 09:00` (UTC unless an offset is given), which must be in the future."""
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--at: {text!r} is not a time like '2026-12-24 09:00' (UTC)") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    if when <= now:
        raise UserError(f"--at: {text!r} is not in the future (it is now "
                        f"{now.isoformat(sep=' ', timespec='minutes')} UTC)")
    return when


@dataclass(frozen=True)
class Prepared:
    subject: str
    message: EmailMessage


def read_prepared(path: Path, subject: str | None) -> Prepared:
    """FILE as a message: a .eml as it is (headers listd sets removed), any other file as the
    plain text of a post whose Subject is SUBJECT."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"file: cannot read {path}: {error.strerror}") from None
    if path.suffix.lower() == ".eml":
        message = email.message_from_bytes(data, policy=default)
        assert isinstance(message, EmailMessage)
        for name in REPLACED:
            del message[name]
        chosen = subject or str(message.get("Subject", ""))
    else:
        if not subject:
            raise UserError(f"--subject: {path.name} is not a .eml, so the post needs a "
                            "--subject")
        message = EmailMessage()
        try:
            message.set_content(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise UserError(f"file: {path} is not UTF-8 text") from None
        chosen = subject
    chosen = " ".join(chosen.split())
    if not chosen:
        raise UserError(f"--subject: {path.name} has no Subject; give one with --subject")
    del message["Subject"]
    message["Subject"] = chosen
    return Prepared(chosen, message)


@dataclass(frozen=True)
class SendRequest:
    list_address: str
    file: Path
    subject: str | None = None
    poster: str | None = None
    test: bool = False
    at: str | None = None
    sample: str | None = None
    exclude: str | None = None
    variant: Path | None = None


def send(session: Session, config: Config, request: SendRequest, now: dt.datetime,
         actor: str = audit.CLI_ACTOR) -> list[PostSend]:
    """Record REQUEST's send (two for an A/B pair) and submit it unless it waits for --at."""
    mailing_list = find_list(session, request.list_address)
    poster = check_poster(session, mailing_list, request.poster) if request.poster \
        else first_owner(session, mailing_list)
    at = parse_at(request.at, now) if request.at else None
    sample = parse_sample(request.sample) if request.sample else Sample()
    exclude = _excluded(session, mailing_list, request.exclude)
    if request.test and (sample != Sample() or exclude):
        raise UserError("--test: a test goes to the owners only; it takes no --sample or "
                        "--exclude-recipients-of")
    if request.variant is not None and sample == Sample():
        # A/B without a sample: the two halves of every member.
        sample = Sample(percent=100.0)
    files = [request.file] + ([request.variant] if request.variant is not None else [])
    prepared = [read_prepared(path, request.subject) for path in files]
    sends = [_record(session, mailing_list, poster, one, request, at, sample, exclude, actor,
                     now) for one in prepared]
    _pair(session, sends)
    if at is None:
        for one in sends:
            submit(session, config, one, now)
    return sends


def first_owner(session: Session, mailing_list: MailingList) -> str:
    owner = session.scalar(select(Member.address).where(
        Member.list_id == mailing_list.id, Member.role == Role.OWNER).order_by(Member.id))
    if owner is None:
        raise UserError(f"from: {mailing_list.address} has no owner to send as")
    return owner


def _excluded(session: Session, mailing_list: MailingList, text: str | None) -> list[int]:
    """The outbound ids of the posts TEXT names, each a distributed post of MAILING_LIST."""
    if not text:
        return []
    ids: list[int] = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        ref = resolve(session, name)
        if ref.outbound_id is None:
            raise UserError(f"--exclude-recipients-of: post {name} has not gone out yet, so "
                            "it has no recipients")
        if _list_of(session, ref.outbound_id) != mailing_list.id:
            raise UserError(f"--exclude-recipients-of: post {name} is not a post of "
                            f"{mailing_list.address}")
        ids.append(ref.outbound_id)
    return ids


def _list_of(session: Session, outbound_id: int) -> int | None:
    message = session.get(OutboundMessage, outbound_id)
    if message is not None:
        return message.list_id
    summary = session.get(DeliverySummary, outbound_id)
    return summary.list_id if summary is not None else None


def _record(session: Session, mailing_list: MailingList, poster: str, prepared: Prepared,
            request: SendRequest, at: dt.datetime | None, sample: Sample, exclude: list[int],
            actor: str, now: dt.datetime) -> PostSend:
    message = prepared.message
    message["From"] = poster
    message["To"] = mailing_list.address
    message["Message-ID"] = make_msgid(domain=mailing_list.domain.name)
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    if request.test:
        message.replace_header("Subject", TEST_PREFIX + prepared.subject)
        message[TEST_HEADER] = "yes"
    one = PostSend(
        list_id=mailing_list.id, poster=poster, subject=prepared.subject,
        raw=message.as_bytes(policy=SMTP), send_at=at, test=request.test,
        state=PostSendState.SCHEDULED, sample_count=sample.count,
        sample_percent=sample.percent, exclude=exclude, actor=actor, created_at=now)
    session.add(one)
    session.flush()
    one.group_id = one.id
    audit.record(session, actor, "post.scheduled" if at else "post.sent_as_list", mailing_list,
                 poster, send=one.id, at=at.isoformat() if at else None, test=request.test)
    return one


def _pair(session: Session, sends: list[PostSend]) -> None:
    """An A/B pair shares the A send's group, so both draw from one sample."""
    if len(sends) < 2:
        return
    for variant, one in zip("AB", sends, strict=True):
        one.variant = variant
        one.group_id = sends[0].id
    session.flush()


def submit(session: Session, config: Config, one: PostSend, now: dt.datetime) -> bool:
    """Hand ONE to posting, once: False if another process (or a cancel) came first."""
    claimed = affected_rows(session.execute(
        update(PostSend).where(PostSend.id == one.id, PostSend.state == PostSendState.SCHEDULED)
        .values(state=PostSendState.SUBMITTED, submitted_at=now)
        .execution_options(synchronize_session=False)))
    if not claimed:
        return False
    mailing_list = session.get(MailingList, one.list_id)
    assert mailing_list is not None
    raw = _dated(one.raw, now)
    inbound_id = submit_raw(session, config, mailing_list, one.poster, raw, DOOR)
    inbound = session.get(InboundMessage, inbound_id)
    assert inbound is not None
    session.execute(update(PostSend).where(PostSend.id == one.id)
                    .values(message_id=inbound.message_id)
                    .execution_options(synchronize_session=False))
    session.refresh(one)
    return True


def _dated(raw: bytes, now: dt.datetime) -> bytes:
    message = email.message_from_bytes(raw, policy=default)
    del message["Date"]
    message["Date"] = formatdate(now.replace(tzinfo=dt.UTC).timestamp(), usegmt=True)
    return message.as_bytes(policy=SMTP)


def cancel(session: Session, name: str, now: dt.datetime,
           actor: str = audit.CLI_ACTOR) -> PostSend:
    """Cancel scheduled send NAME (the whole pair, for an A/B send)."""
    ref = resolve(session, name)
    if ref.send is None:
        raise UserError(f"post {name}: only a send scheduled with 'listd post send --at' can "
                        "be cancelled")
    group = list(session.scalars(select(PostSend).where(PostSend.group_id == ref.send.group_id)))
    for one in group:
        if one.state is not PostSendState.SCHEDULED:
            raise UserError(f"post {name} is {one.state.value}, not scheduled: too late to "
                            "cancel")
    for one in group:
        one.state = PostSendState.CANCELLED
        one.cancelled_at = now
    mailing_list = session.get(MailingList, ref.send.list_id)
    audit.record(session, actor, "post.cancelled", mailing_list, ref.send.poster,
                 send=ref.send.id)
    return ref.send


def release_due(runtime: Runtime) -> int:
    """The `post-sends` job: submit the sends whose time has come (listd's clock), each in
    its own transaction; a send whose poster is no longer an owner is cancelled."""
    now = runtime.clock.now()
    with runtime.db.reading() as session:
        due = list(session.scalars(select(PostSend.id).where(
            PostSend.state == PostSendState.SCHEDULED, PostSend.send_at <= now)
            .order_by(PostSend.send_at, PostSend.id).limit(100)))
    released = 0
    for send_id in due:
        try:
            with runtime.db.session() as session:
                one = session.get(PostSend, send_id)
                if one is not None and submit(session, runtime.config, one, now):
                    released += 1
        except UserError as error:
            log.warning("send s%d cannot go out: %s; cancelled", send_id, error)
            with runtime.db.session() as session:
                session.execute(update(PostSend).where(
                    PostSend.id == send_id, PostSend.state == PostSendState.SCHEDULED)
                    .values(state=PostSendState.CANCELLED, cancelled_at=now))
    return released
