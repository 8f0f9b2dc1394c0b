"""What owners see and do about bounces: members with a score, and clearing one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.addresses import normalize_address
from listd.bounce.scoring import Effect, restore
from listd.errors import NotFound
from listd.lists import find_list
from listd.members import find_member
from listd.models import BounceEvent, Member


def bouncing_members(session: Session, list_address: str) -> list[dict[str, Any]]:
    mailing_list = find_list(session, list_address)
    return [describe_bounces(session, member) for member in session.scalars(
        select(Member).where(Member.list_id == mailing_list.id,
                             (Member.bounce_score > 0)
                             | (Member.bounce_suspended_at.is_not(None)))
        .order_by(Member.bounce_score.desc(), Member.address))]


# Reports kept for the owners without acting on anyone (see unacted.py).
UNACTED = (Effect.NOT_PROVEN.value, Effect.NOT_A_COMPLAINT.value)


def unacted_reports(session: Session, list_address: str, limit: int = 100) -> list[dict[str, Any]]:
    """The latest reports to the list that changed nothing, and why, newest first."""
    mailing_list = find_list(session, list_address)
    rows = session.execute(
        select(BounceEvent.received_at, BounceEvent.address, BounceEvent.kind,
               BounceEvent.reason, BounceEvent.status, BounceEvent.effect)
        .where(BounceEvent.list_id == mailing_list.id, BounceEvent.effect.in_(UNACTED))
        .order_by(BounceEvent.received_at.desc(), BounceEvent.id.desc()).limit(limit))
    return [{"received": r.received_at.isoformat(timespec="seconds"), "address": r.address,
             "kind": r.kind, "reason": r.reason, "status": r.status, "effect": r.effect}
            for r in rows]


def reset_member(session: Session, list_address: str, member_address: str, actor: str) -> str:
    mailing_list = find_list(session, list_address)
    member = find_member(session, mailing_list, normalize_address(member_address))
    if member is None:
        raise NotFound(f"{member_address} is not subscriber of {mailing_list.address}")
    restore(member)
    audit.record(session, actor, "member.bounce_reset", mailing_list, member.address)
    return member.address


def describe_bounces(session: Session, member: Member) -> dict[str, object]:
    last = session.execute(
        select(BounceEvent.received_at, BounceEvent.reason, BounceEvent.status,
               BounceEvent.effect)
        .where(BounceEvent.member_id == member.id)
        .order_by(BounceEvent.received_at.desc(), BounceEvent.id.desc()).limit(1)).first()
    return {
        "address": member.address,
        "score": member.bounce_score,
        "status": member.status.value,
        "last_bounce": last.received_at.isoformat(timespec="seconds") if last else None,
        "reason": last.reason if last else None,
        "last_status": last.status if last else None,
        "effect": last.effect if last else None,
        "warnings": member.bounce_warnings,
        "suspended_at": (member.bounce_suspended_at.isoformat(timespec="seconds")
                         if member.bounce_suspended_at else None),
    }


def bounce_events(session: Session, list_address: str, member_address: str,
                  limit: int = 200) -> list[dict[str, Any]]:
    """The events recorded for MEMBER_ADDRESS on the list, newest first."""
    mailing_list = find_list(session, list_address)
    rows = session.scalars(select(BounceEvent).where(
        BounceEvent.list_id == mailing_list.id,
        BounceEvent.address == normalize_address(member_address))
        .order_by(BounceEvent.received_at.desc(), BounceEvent.id.desc()).limit(limit))
    return [{"address": e.address, "kind": e.kind, "effect": e.effect, "status": e.status,
             "reason": e.reason, "diagnostic": e.diagnostic, "source": e.source,
             "received_at": e.received_at.isoformat(timespec="seconds")} for e in rows]
