"""Per-list settings: their names, allowed values and defaults, declared once.

A list stores only what differs from the defaults (in `lists.settings`); `ListSettings.of()`
gives the full, typed view. The CLI's `list set`, the list templates and the mail commands all
validate through `parse_setting`, so a bad value is refused the same way everywhere.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from listd.errors import UserError
from listd.models import MailingList

Posting = Literal["owners", "members", "anyone", "moderated"]
NonMemberAction = Literal["hold", "reject", "discard"]
Subscription = Literal["open", "approval", "closed"]
Review = Literal["owners", "members", "public"]
Visibility = Literal["public", "hidden"]
ReplyTo = Literal["poster", "list"]
DmarcMitigation = Literal["none", "munge_from", "wrap"]
Archive = Literal["public", "members", "owners", "off"]
DigestFrequency = Literal["daily", "weekly", "never"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Notices = Literal["auto", "on", "off"]
Tracking = Literal["off", "aggregate", "per_member"]


class SettingError(UserError):
    """A setting name or value that is not allowed; the message names it."""


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class ListSettings:
    posting: Posting = field(default="members", metadata=_doc(
        "who may post without moderation: owners (and moderators), members, anyone, or "
        "moderated (every post is held)"))
    nonmember_action: NonMemberAction = field(default="hold", metadata=_doc(
        "what happens to a post from someone who may not post"))
    subscription: Subscription = field(default="open", metadata=_doc(
        "open (with confirmation), approval (by an owner, after confirmation), closed"))
    review: Review = field(default="owners", metadata=_doc("who may see the member list"))
    visibility: Visibility = field(default="public", metadata=_doc(
        "whether LISTS shows the list"))
    reply_to: ReplyTo = field(default="poster", metadata=_doc("where replies go"))
    subject_prefix: str | None = field(default=None, metadata=_doc(
        "prefix added to subjects; default [LIST], empty for none"))
    footer: str = field(default="", metadata=_doc("text added after each post"))
    max_message_size: int = field(default=5 * 1024 * 1024, metadata=_doc(
        "largest post in bytes; larger posts are held"))
    max_recipients: int = field(default=10, metadata=_doc(
        "posts with more addresses in To and Cc are held"))
    emergency: bool = field(default=False, metadata=_doc("hold every post (emergency brake)"))
    held_expire_days: int = field(default=14, metadata=_doc(
        "days a held post waits for a moderator"))
    held_notice: bool = field(default=True, metadata=_doc(
        "tell the poster that a held post waits for a moderator (off: no mail to forged From:)"))
    archive_url: str | None = field(default=None, metadata=_doc(
        "List-Archive URL of an archive kept elsewhere; default: listd's web archive"))
    archive: Archive = field(default="members", metadata=_doc(
        "who may read the archive: public, members, owners, or off (nothing archived)"))
    digest_frequency: DigestFrequency = field(default="daily", metadata=_doc(
        "when a digest goes out: daily or weekly at digest_hour, or never (thresholds only)"))
    digest_hour: int = field(default=7, metadata=_doc("hour (UTC, 0-23) digests go out"))
    digest_day: Weekday = field(default="monday", metadata=_doc("day of a weekly digest"))
    digest_max_posts: int = field(default=25, metadata=_doc(
        "a digest goes out at once when this many posts wait (0: no count threshold)"))
    digest_max_kb: int = field(default=40, metadata=_doc(
        "a digest goes out at once when the waiting posts pass this size in KB (0: none)"))
    dmarc_mitigation: DmarcMitigation = field(default="munge_from", metadata=_doc(
        "what to do with posts from domains whose DMARC policy is quarantine or reject"))
    require_owner_authentication: bool = field(default=False, metadata=_doc(
        "a post whose From is an owner or moderator counts as theirs only with an aligned "
        "DKIM, SPF or DMARC pass; otherwise it is held"))
    bounce_threshold: int = field(default=5, metadata=_doc(
        "bounce score at which delivery is suspended"))
    bounce_stale_days: int = field(default=7, metadata=_doc(
        "days without bounces after which a score is forgotten"))
    bounce_warnings: int = field(default=3, metadata=_doc(
        "warnings sent to a suspended member before removal"))
    bounce_warning_interval_days: int = field(default=7, metadata=_doc(
        "days between two warnings"))
    subscription_notices: Notices = field(default="auto", metadata=_doc(
        "tell the owners of each subscription and unsubscription: on, off, or auto (on while "
        "the list has fewer than 1000 subscribers)"))
    held_reminder: bool = field(default=True, metadata=_doc(
        "once a day, remind the moderators of the posts waiting for more than a day"))
    bounce_warn_rate: int = field(default=30, metadata=_doc(
        "warn the owners when one post bounced for more than this percentage of its "
        "recipients (Sympa's warn_rate); 0: never"))
    bounce_probe: bool = field(default=False, metadata=_doc(
        "at the threshold, send a VERP-tagged probe first and suspend only if it bounces"))
    tracking: Tracking = field(default="off", metadata=_doc(
        "link tracking in posts sent by the owners through the API or `listd post send`: off, "
        "aggregate (clicks counted per link), or per_member (also who clicked); never opens"))

    @classmethod
    def of(cls, mailing_list: MailingList) -> ListSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        stored = {k: v for k, v in (mailing_list.settings or {}).items() if k in known}
        return cls(**stored)

    def prefix_for(self, list_name: str) -> str:
        return f"[{list_name}]" if self.subject_prefix is None else self.subject_prefix


SETTING_HINTS = typing.get_type_hints(ListSettings)
SETTING_NAMES = tuple(f.name for f in dataclasses.fields(ListSettings))
# Stored as columns of `lists` rather than in the settings document.
COLUMN_SETTINGS = ("subject", "description", "language")
LANGUAGES = ("en", "fr")
UPPER_BOUNDS = {"digest_hour": 23}


def parse_setting(key: str, value: Any) -> Any:
    """Check KEY and turn VALUE (text from the CLI or a typed value from YAML) into its type."""
    if key in COLUMN_SETTINGS:
        text = "" if value is None else str(value)
        if key == "language" and text not in LANGUAGES:
            raise SettingError(f"language must be one of {', '.join(LANGUAGES)}, not {text!r}")
        return text
    if key not in SETTING_HINTS:
        names = ", ".join(SETTING_NAMES + COLUMN_SETTINGS)
        raise SettingError(f"unknown setting {key!r}; known settings: {names}")
    coerced = _coerce(key, SETTING_HINTS[key], value)
    if key in UPPER_BOUNDS and coerced > UPPER_BOUNDS[key]:
        raise SettingError(f"{key} must be at most {UPPER_BOUNDS[key]}, not {value!r}")
    return coerced


def _coerce(key: str, hint: Any, value: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) is Literal:
        if value not in args:
            raise SettingError(f"{key} must be one of {', '.join(args)}, not {value!r}")
        return value
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        return _coerce(key, next(a for a in args if a is not type(None)), value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise SettingError(f"{key} must be true or false, not {value!r}")
    if hint is int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise SettingError(f"{key} must be a whole number, not {value!r}") from None
        if number < 0:
            raise SettingError(f"{key} must not be negative, not {value!r}")
        return number
    return str(value)
