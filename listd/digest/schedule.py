"""When a list's digest is due: at its hour (daily or weekly) after the oldest waiting post, or
at once when the waiting posts pass the count or size threshold. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from listd.settings import ListSettings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Pending:
    """A list's posts waiting for a digest."""

    count: int
    size: int
    oldest: dt.datetime | None


def next_scheduled(settings: ListSettings, after: dt.datetime) -> dt.datetime | None:
    """The first scheduled digest time strictly after AFTER; None for `never`."""
    if settings.digest_frequency == "never":
        return None
    moment = after.replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    if moment <= after:
        moment += dt.timedelta(days=1)
    if settings.digest_frequency == "weekly":
        ahead = (WEEKDAYS.index(settings.digest_day) - moment.weekday()) % 7
        moment += dt.timedelta(days=ahead)
    return moment


def over_threshold(settings: ListSettings, pending: Pending) -> bool:
    by_count = settings.digest_max_posts and pending.count >= settings.digest_max_posts
    by_size = settings.digest_max_kb and pending.size >= settings.digest_max_kb * 1024
    return bool(by_count or by_size)


def is_due(settings: ListSettings, pending: Pending, now: dt.datetime) -> bool:
    if pending.count == 0 or pending.oldest is None:
        return False
    if over_threshold(settings, pending):
        return True
    scheduled = next_scheduled(settings, pending.oldest)
    return scheduled is not None and now >= scheduled
