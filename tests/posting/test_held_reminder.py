"""The moderators' daily reminder of the posts that waited more than a day, end to end: a real
listd holds a post, its clock moves on, its maintenance worker sends the reminder once a day."""

from __future__ import annotations

import datetime as dt

from listd.clock import OffsetClock
from listd.config import Config
from listd.database import Database
from listd.serve import Daemon
from tests.posting.test_moderation_by_mail import LIST, MOD, STRANGER, held_post
from tests.support.client import in_thread, post
from tests.support.outbox import settle
from tests.support.robot import body, mail, wait_for_mail, written_to

DOMAIN = "lists.example.org"


async def test_moderators_are_reminded_once_a_day_of_waiting_posts(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    held, _notice = await held_post(daemon, db, config)
    clock.advance(dt.timedelta(hours=25))
    mails = await wait_for_mail(config, MOD, 2, "the reminder")
    reminder = mails[1]
    assert " ".join(str(reminder.message["Subject"]).split()) == \
        f"club@{DOMAIN}: 1 post waits for a moderator"
    assert f"#{held.id} from {STRANGER}: Hello\n    DISTRIBUTE {held.token}" in body(reminder)
    # Within the day, no second reminder, however often the job runs.
    clock.advance(dt.timedelta(hours=2))
    await mail(daemon, MOD, f"listd@{DOMAIN}", "MODINDEX club\n")
    await wait_for_mail(config, MOD, 3, "the MODINDEX reply")
    await settle(db, inbound=2)
    assert len(written_to(config, MOD)) == 3
    clock.advance(dt.timedelta(hours=23))
    await wait_for_mail(config, MOD, 4, "the next day's reminder")


async def test_the_reminders_subject_counts_the_posts_in_english_and_in_french(
        daemon: Daemon, db: Database, config: Config, clock: OffsetClock) -> None:
    await held_post(daemon, db, config, language="fr")
    for title in ("Deux", "Trois"):
        await in_thread(post, daemon.port, STRANGER, LIST, title, "Du dehors.\n")
    await wait_for_mail(config, MOD, 3, "the three notices")
    clock.advance(dt.timedelta(hours=25))
    reminder = (await wait_for_mail(config, MOD, 4, "the reminder"))[3]
    assert " ".join(str(reminder.message["Subject"]).split()) == \
        f"club@{DOMAIN} : 3 messages attendent un modérateur"
