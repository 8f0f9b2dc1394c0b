"""Bounce scores: what a bounce adds to a member's score, and when delivery stops.

Defaults follow GNU Mailman 3's, made stricter: a hard bounce counts 1, a soft one 0.5, at most
one increase a day; a score is forgotten after a quiet week; and a refusal caused by the message
or its sender (spam filter, DMARC, a blocklist) is recorded but never counted, since it says
nothing about the member's address.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from listd.models import Member, MemberStatus
from listd.settings import ListSettings

# Sisimai's reason names for refusals that are about the message or the sender.
MESSAGE_OR_SENDER_REASONS = frozenset({
    "spamdetected", "virusdetected", "contenterror", "securityerror", "policyviolation",
    "blocked", "norelaying", "rejected", "mesgtoolarge", "toomanyconn", "speeding",
    "authfailure", "badreputation", "requireptr", "notcompliantrfc", "syntaxerror",
})
WEIGHTS = {"hard": 1.0, "soft": 0.5}
ONE_DAY = dt.timedelta(days=1)


class Effect(enum.StrEnum):
    SCORED = "scored"
    SUSPENDED = "suspended"
    PROBING = "probe sent"
    PROBE_PENDING = "recorded: waiting for the probe"
    SAME_DAY = "recorded: already counted today"
    ABOUT_MESSAGE = "recorded: about the message or sender"
    ALREADY_SUSPENDED = "recorded: delivery already suspended"
    UNKNOWN_MEMBER = "recorded: not a member"
    UNSUBSCRIBED = "unsubscribed: complaint"
    # The report could not be shown to concern a copy sent to this member (see proof.py).
    NOT_PROVEN = "recorded: not proven to be about a copy sent to this member"
    # A feedback report that is not the recipient's own complaint (auth-failure, not-spam, …).
    NOT_A_COMPLAINT = "recorded: not a complaint by the recipient"

    @property
    def queues_mail(self) -> bool:
        """Whether taking this effect queued mail (notices, a probe), so delivery must wake."""
        return self in (Effect.SUSPENDED, Effect.PROBING, Effect.UNSUBSCRIBED)


@dataclass(frozen=True)
class BouncePolicy:
    threshold: float
    stale_after: dt.timedelta
    warnings: int
    warning_interval: dt.timedelta
    probe: bool = False
    # A probe that has not bounced after this long proves the address works.
    probe_wait: dt.timedelta = dt.timedelta(days=3)

    @classmethod
    def of(cls, settings: ListSettings) -> BouncePolicy:
        return cls(threshold=float(settings.bounce_threshold),
                   stale_after=dt.timedelta(days=settings.bounce_stale_days),
                   warnings=settings.bounce_warnings,
                   warning_interval=dt.timedelta(days=settings.bounce_warning_interval_days),
                   probe=settings.bounce_probe)


def forget_if_stale(member: Member, policy: BouncePolicy, now: dt.datetime) -> None:
    if (member.status is MemberStatus.ENABLED and member.last_bounce_at is not None
            and now - member.last_bounce_at >= policy.stale_after):
        member.bounce_score = 0.0


def apply_bounce(member: Member, policy: BouncePolicy, kind: str, reason: str | None,
                 now: dt.datetime, *, probe_bounced: bool = False) -> Effect:
    """Count one bounce against MEMBER (changing its fields) and say what it did.

    PROBE_BOUNCED: the bounce is of the probe sent at the threshold, which settles it.
    """
    if reason in MESSAGE_OR_SENDER_REASONS:
        return Effect.ABOUT_MESSAGE
    if member.status is MemberStatus.SUSPENDED:
        return Effect.ALREADY_SUSPENDED
    if probe_bounced:
        suspend(member, now)
        return Effect.SUSPENDED
    if member.probe_sent_at is not None:
        return Effect.PROBE_PENDING
    forget_if_stale(member, policy, now)
    if member.last_bounce_at is not None and now - member.last_bounce_at < ONE_DAY:
        return Effect.SAME_DAY
    member.bounce_score = (member.bounce_score or 0.0) + WEIGHTS.get(kind, WEIGHTS["soft"])
    member.last_bounce_at = now
    if member.bounce_score >= policy.threshold:
        if policy.probe:
            member.probe_sent_at = now
            return Effect.PROBING
        suspend(member, now)
        return Effect.SUSPENDED
    return Effect.SCORED


def suspend(member: Member, now: dt.datetime) -> None:
    member.status = MemberStatus.SUSPENDED
    member.bounce_suspended_at = now
    member.bounce_warnings = 0
    member.last_warning_at = None
    member.probe_sent_at = None


def restore(member: Member) -> None:
    """The member wants mail again: delivery resumes with a clean score."""
    member.status = MemberStatus.ENABLED
    member.bounce_score = 0.0
    member.last_bounce_at = None
    member.bounce_suspended_at = None
    member.bounce_warnings = 0
    member.last_warning_at = None
    member.probe_sent_at = None
