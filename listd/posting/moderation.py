"""The moderation queue: holding a post, and the decisions on it (approve, reject, discard,
expire), each taken exactly once.

A decision is one conditional UPDATE … WHERE state = 'held': whichever transaction changes the
row decides, and any other (a second moderator, a second process, the expiry job) finds no row
to change and is told the post was already decided. These functions trust their caller about
who is deciding; `answers` checks mail answers (moderator only, no robots) before calling them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from listd import audit
from listd.database import affected_rows
from listd.distribute.post import accept_post
from listd.errors import NotFound, UserError
from listd.i18n import N_, Term
from listd.models import HeldMessage, HeldState, MailingList, Member, Role, StoredMessage
from listd.posting import notices
from listd.posting.decision import Verdict
from listd.posting.patterns import PatternKind, add_pattern
from listd.runtime import Runtime
from listd.settings import ListSettings

TOKEN_BYTES = 20


class AlreadyDecided(UserError):
    """The held post was decided before this decision could be taken."""

    def __init__(self, held: HeldMessage) -> None:
        self.held_id = held.id
        self.state = held.state
        self.decided_by = held.decided_by
        if held.decided_by:
            super().__init__(N_("held post #{id} was already {state} by {by}"), id=held.id,
                             state=Term(held.state.value), by=held.decided_by)
        else:
            super().__init__(N_("held post #{id} was already {state}"), id=held.id,
                             state=Term(held.state.value))


@dataclass(frozen=True)
class Decided:
    held_id: int
    state: HeldState
    list_address: str
    sender: str
    # Mail was queued (the post itself, or a notice to the poster): wake the delivery workers.
    queued_mail: bool


def new_token() -> str:
    # Lowercase hex: the token travels in a local part, which listd compares lowercased.
    return secrets.token_hex(TOKEN_BYTES)


# Built once (asked for each held post): moderators and owners in one query.
_MODERATORS_AND_OWNERS = (
    select(Member.address, Member.role)
    .where(Member.list_id == bindparam("list_id"),
           Member.role.in_([Role.MODERATOR, Role.OWNER]))
    .order_by(Member.address))


def moderators_of(session: Session, mailing_list: MailingList) -> list[str]:
    """The moderators' addresses, or the owners' when the list has no moderator."""
    found = session.execute(_MODERATORS_AND_OWNERS, {"list_id": mailing_list.id}).all()
    moderators = [address for address, role in found if role == Role.MODERATOR]
    return moderators or [address for address, role in found if role == Role.OWNER]


def hold_post(session: Session, runtime: Runtime, mailing_list: MailingList, *,
              message_id: int, raw: bytes, sender: str, subject: str,
              verdict: Verdict, notify: bool = True) -> HeldMessage:
    """Keep the post with its reason and send every moderator one notice with the post
    (unless NOTIFY is False: the moderators were told of this run of posts already)."""
    now = runtime.clock.now()
    days = ListSettings.of(mailing_list).held_expire_days
    held = HeldMessage(list_id=mailing_list.id, message_id=message_id, sender=sender,
                       subject=subject[:998], reason=verdict.reason, rule=verdict.rule,
                       token=new_token(), state=HeldState.HELD, held_at=now,
                       expires_at=now + dt.timedelta(days=days))
    session.add(held)
    session.flush()
    if notify:
        _notify_moderators(session, runtime, mailing_list, held, raw, verdict)
    audit.record(session, audit.SYSTEM_ACTOR, "post.held", mailing_list, sender,
                 held_id=held.id, rule=verdict.rule, reason=verdict.reason, notified=notify)
    return held


def _notify_moderators(session: Session, runtime: Runtime, mailing_list: MailingList,
                       held: HeldMessage, raw: bytes, verdict: Verdict) -> None:
    sender, subject = held.sender, held.subject
    reply_to = notices.confirm_address(mailing_list, held.token)
    notices.send_list_notice(
        session, mailing_list, "moderation_notice", moderators_of(session, mailing_list),
        sender=reply_to, reply_to=reply_to, attachment=raw,
        sender_address=sender, subject=subject or "(no subject)", reason=verdict.reason,
        held_id=held.id, expires=held.expires_at.isoformat(sep=" ", timespec="minutes"),
        confirm_address=reply_to, token=held.token,
        robot=notices.robot_address(mailing_list, runtime.config.robot))


def find_held(session: Session, held_id: int) -> HeldMessage:
    held = session.get(HeldMessage, held_id)
    if held is None:
        raise NotFound(N_("no held post #{id}"), id=held_id)
    return held


def held_by_token(session: Session, token: str) -> HeldMessage | None:
    return session.scalar(select(HeldMessage).where(HeldMessage.token == token.strip().lower()))


def find_held_by_token(session: Session, token: str) -> HeldMessage:
    held = held_by_token(session, token)
    if held is None:
        # The same answer for a mistyped, a forged and a purged token.
        raise NotFound(N_("no held post matches this token"))
    return held


def pending(session: Session, mailing_list: MailingList | None = None) -> list[HeldMessage]:
    query = select(HeldMessage).where(HeldMessage.state == HeldState.HELD)
    if mailing_list is not None:
        query = query.where(HeldMessage.list_id == mailing_list.id)
    return list(session.scalars(query.order_by(HeldMessage.id)))


def describe_held(held: HeldMessage, mailing_list: MailingList) -> dict[str, Any]:
    return {
        "id": held.id,
        "list": mailing_list.address,
        "sender": held.sender,
        "subject": held.subject,
        "rule": held.rule,
        "reason": held.reason,
        "held_at": held.held_at.isoformat(timespec="seconds"),
        "expires_at": held.expires_at.isoformat(timespec="seconds"),
    }


def _decide(session: Session, runtime: Runtime, held: HeldMessage, state: HeldState,
            actor: str, reason: str | None) -> MailingList:
    changed = affected_rows(session.execute(
        update(HeldMessage)
        .where(HeldMessage.id == held.id, HeldMessage.state == HeldState.HELD)
        .values(state=state, decided_at=runtime.clock.now(), decided_by=actor,
                decision_reason=reason)
        .execution_options(synchronize_session=False)))
    session.refresh(held)
    if changed != 1:
        raise AlreadyDecided(held)
    mailing_list = session.get(MailingList, held.list_id)
    assert mailing_list is not None
    return mailing_list


def _raw(session: Session, held: HeldMessage) -> bytes:
    return session.execute(select(StoredMessage.raw)
                           .where(StoredMessage.id == held.message_id)).scalar_one()


def approve_held(session: Session, runtime: Runtime, held: HeldMessage, actor: str,
                 reason: str | None = None, accept_sender: bool = False) -> Decided:
    """Distribute the post; with ACCEPT_SENDER, the poster is not held again by the policy."""
    mailing_list = _decide(session, runtime, held, HeldState.APPROVED, actor, reason)
    accept_post(session, runtime, mailing_list, _raw(session, held), held.message_id)
    if accept_sender:
        add_pattern(session, mailing_list, PatternKind.ACCEPT, held.sender, actor,
                    exist_ok=True)
    audit.record(session, actor, "held.approved", mailing_list, held.sender, held_id=held.id,
                 reason=reason, accept_sender=accept_sender)
    return Decided(held.id, held.state, mailing_list.address, held.sender, queued_mail=True)


def reject_held(session: Session, runtime: Runtime, held: HeldMessage, actor: str,
                reason: str | None = None) -> Decided:
    """Do not distribute; tell the poster, with the moderator's reason."""
    mailing_list = _decide(session, runtime, held, HeldState.REJECTED, actor, reason)
    notices.send_list_notice(
        session, mailing_list, "held_rejected", [held.sender], attachment=_raw(session, held),
        subject=held.subject or "(no subject)", reason=reason or "(none given)",
        owner=notices.owner_address(mailing_list))
    audit.record(session, actor, "held.rejected", mailing_list, held.sender, held_id=held.id,
                 reason=reason)
    return Decided(held.id, held.state, mailing_list.address, held.sender, queued_mail=True)


def discard_held(session: Session, runtime: Runtime, held: HeldMessage, actor: str,
                 reason: str | None = None) -> Decided:
    """Drop the post without telling anyone (spam)."""
    mailing_list = _decide(session, runtime, held, HeldState.DISCARDED, actor, reason)
    audit.record(session, actor, "held.discarded", mailing_list, held.sender, held_id=held.id,
                 reason=reason)
    return Decided(held.id, held.state, mailing_list.address, held.sender, queued_mail=False)


def expire_held(session: Session, runtime: Runtime, held: HeldMessage) -> Decided:
    """No moderator decided in time: drop the post and tell the poster."""
    mailing_list = _decide(session, runtime, held, HeldState.EXPIRED, audit.SYSTEM_ACTOR, None)
    notices.send_list_notice(
        session, mailing_list, "held_expired", [held.sender], attachment=_raw(session, held),
        subject=held.subject or "(no subject)", reason=held.reason,
        days=(held.expires_at - held.held_at).days, owner=notices.owner_address(mailing_list))
    audit.record(session, audit.SYSTEM_ACTOR, "held.expired", mailing_list, held.sender,
                 held_id=held.id)
    return Decided(held.id, held.state, mailing_list.address, held.sender, queued_mail=True)


def expire_due(runtime: Runtime) -> int:
    """Expire every held post whose time is up, one transaction each; return how many."""
    with runtime.db.session() as session:
        due = list(session.scalars(select(HeldMessage.id).where(
            HeldMessage.state == HeldState.HELD,
            HeldMessage.expires_at <= runtime.clock.now()).order_by(HeldMessage.id)))
    expired = 0
    for held_id in due:
        try:
            with runtime.db.session() as session:
                expire_held(session, runtime, find_held(session, held_id))
            expired += 1
        except AlreadyDecided:
            pass  # a moderator (or another process) decided in the meantime
    return expired
