"""The bounce life cycle over time: warnings to suspended members, then removal; stale scores.

Run periodically by `listd serve`; each call does what is due at `runtime.clock.now()` and is
safe to repeat, so a test can move the clock and call it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit, suppression
from listd.bounce.events import ACTOR, warn_member
from listd.bounce.notices import owner_addresses, send_notice
from listd.bounce.scoring import BouncePolicy, forget_if_stale, restore
from listd.models import MailingList, Member, MemberStatus, Role, SuppressionReason
from listd.runtime import Runtime
from listd.settings import ListSettings


@dataclass
class LifecycleReport:
    warned: int = 0
    removed: int = 0
    forgotten: int = 0


def run_bounce_lifecycle(session: Session, runtime: Runtime) -> LifecycleReport:
    now = runtime.clock.now()
    report = LifecycleReport()
    # Locked rows are skipped: another listd process is deciding about them right now.
    members = session.scalars(select(Member).where(
        Member.role == Role.SUBSCRIBER, Member.bounce_score > 0).order_by(Member.list_id)
        .with_for_update(skip_locked=True))
    lists: dict[int, MailingList] = {}
    for member in members:
        mailing_list = lists.get(member.list_id) or session.get(MailingList, member.list_id)
        assert mailing_list is not None
        lists[member.list_id] = mailing_list
        policy = BouncePolicy.of(ListSettings.of(mailing_list))
        if member.status is MemberStatus.ENABLED:
            if member.probe_sent_at is not None:
                if now - member.probe_sent_at >= policy.probe_wait:
                    # The probe did not bounce: the address works after all.
                    restore(member)
                    audit.record(session, ACTOR, "member.bounce_probe_passed", mailing_list,
                                 member.address)
                    report.forgotten += 1
                continue
            before = member.bounce_score
            forget_if_stale(member, policy, now)
            report.forgotten += before != member.bounce_score
            continue
        if member.bounce_suspended_at is None:
            continue  # suspended by an admin, not by bounces
        last = member.last_warning_at or member.bounce_suspended_at
        if now - last < policy.warning_interval:
            continue
        if member.bounce_warnings < policy.warnings:
            member.bounce_warnings += 1
            member.last_warning_at = now
            warn_member(session, runtime, mailing_list, member, "repeated delivery failures",
                        warnings_left=policy.warnings - member.bounce_warnings)
            audit.record(session, ACTOR, "member.bounce_warning", mailing_list,
                         member.address, warning=member.bounce_warnings)
            report.warned += 1
        else:
            send_notice(session, mailing_list, "bounce_removed_owner",
                        owner_addresses(session, mailing_list), member=member.address,
                        warnings=member.bounce_warnings,
                        suspended_at=member.bounce_suspended_at.date().isoformat())
            audit.record(session, ACTOR, "member.removed", mailing_list, member.address,
                         why="bounces", warnings=member.bounce_warnings)
            suppression.suppress(session, member.address, SuppressionReason.BOUNCES,
                                 actor=ACTOR, mailing_list=mailing_list,
                                 note=f"removed after {member.bounce_warnings} warnings")
            session.delete(member)
            report.removed += 1
    return report


def bounce_lifecycle_job(runtime: Runtime) -> int:
    """The periodic job of `listd serve` (see listd.maintenance)."""
    with runtime.db.session() as session:
        done = run_bounce_lifecycle(session, runtime)
    return done.warned + done.removed + done.forgotten
