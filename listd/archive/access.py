"""Who may read a list's archive, by the list's `archive` setting. Pure."""

from __future__ import annotations

import enum


class Reader(enum.Enum):
    """Who asks: someone unknown (the web, until sign-in exists), a member, an owner."""

    ANYONE = "anyone"
    MEMBER = "member"
    OWNER = "owner"


class Access(enum.Enum):
    GRANTED = "granted"
    # No archive is kept (archive: off).
    NO_ARCHIVE = "no-archive"
    MEMBERS_ONLY = "members-only"
    OWNERS_ONLY = "owners-only"


def archive_access(setting: str, reader: Reader) -> Access:
    if setting == "off":
        return Access.NO_ARCHIVE
    if setting == "public" or reader is Reader.OWNER:
        return Access.GRANTED
    if setting == "owners":
        return Access.OWNERS_ONLY
    return Access.GRANTED if reader is Reader.MEMBER else Access.MEMBERS_ONLY
