"""Rate limits on what a stranger can make listd do (mail a sign-in link, a confirmation):
counted per client and per address in the database, so every listd process shares them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from listd.database import affected_rows
from listd.models import RateEvent


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window: dt.timedelta


SIGNIN_PER_CLIENT = Limit("signin-client", 20, dt.timedelta(minutes=10))
SIGNIN_PER_ADDRESS = Limit("signin-address", 5, dt.timedelta(hours=1))
PASSWORD_PER_ADDRESS = Limit("password-address", 10, dt.timedelta(hours=1))
SUBSCRIBE_PER_CLIENT = Limit("subscribe-client", 20, dt.timedelta(minutes=10))
SUBSCRIBE_PER_ADDRESS = Limit("subscribe-address", 3, dt.timedelta(hours=1))


def allow(session: Session, now: dt.datetime, checks: list[tuple[Limit, str]]) -> bool:
    """Count one attempt in every bucket, unless one of them is already full."""
    buckets = [(limit, f"{limit.name}:{key.lower()}") for limit, key in checks]
    for limit, bucket in buckets:
        used = session.scalar(select(func.count()).where(
            RateEvent.bucket == bucket, RateEvent.at > now - limit.window)) or 0
        if used >= limit.count:
            return False
    for _limit, bucket in buckets:
        session.add(RateEvent(bucket=bucket, at=now))
    return True


# Longer than every window above, so a purge never forgets a count that still matters.
KEEP = dt.timedelta(days=1)


def purge(session: Session, now: dt.datetime) -> int:
    return affected_rows(session.execute(delete(RateEvent).where(RateEvent.at < now - KEEP)))
