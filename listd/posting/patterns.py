"""Per-list address patterns: the accept list (non-members who may post) and banned addresses.

A pattern is an exact address, a glob (`*@spam.example`), or a regular expression when it
starts with `^` (as in Mailman). Addresses and patterns are compared lowercased.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.addresses import normalize_address
from listd.errors import AlreadyExists, NotFound, UserError
from listd.models import AddressPattern, MailingList


class PatternKind(enum.StrEnum):
    ACCEPT = "accept"
    BAN = "ban"


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern.startswith("^"):
        return re.compile(pattern, re.IGNORECASE)
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def matches(pattern: str, address: str) -> bool:
    if "*" not in pattern and "?" not in pattern and not pattern.startswith("^"):
        return pattern == address
    return _compiled(pattern).match(address) is not None


def first_match(patterns: Iterable[str], addresses: Iterable[str]) -> str | None:
    candidates = tuple(addresses)
    for pattern in patterns:
        if any(matches(pattern, address) for address in candidates):
            return pattern
    return None


def check_pattern(text: str) -> str:
    pattern = text.strip().lower()
    if pattern.startswith("^"):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UserError(f"invalid regular expression {text!r}: {exc}") from None
        return pattern
    if "*" in pattern or "?" in pattern:
        if "@" not in pattern:
            raise UserError(f"pattern {text!r} must contain '@'")
        return pattern
    return normalize_address(pattern)


def list_patterns(session: Session, mailing_list: MailingList,
                  kind: PatternKind | None = None) -> list[AddressPattern]:
    query = select(AddressPattern).where(AddressPattern.list_id == mailing_list.id)
    if kind is not None:
        query = query.where(AddressPattern.kind == kind.value)
    return list(session.scalars(query.order_by(AddressPattern.kind, AddressPattern.pattern)))


def add_pattern(session: Session, mailing_list: MailingList, kind: PatternKind, text: str,
                actor: str = audit.CLI_ACTOR, *, exist_ok: bool = False) -> str:
    pattern = check_pattern(text)
    existing = session.scalar(select(AddressPattern).where(
        AddressPattern.list_id == mailing_list.id, AddressPattern.kind == kind.value,
        AddressPattern.pattern == pattern))
    if existing is not None:
        if exist_ok:
            return pattern
        raise AlreadyExists(f"{pattern} is already on the {kind.value} list of "
                            f"{mailing_list.address}")
    session.add(AddressPattern(list_id=mailing_list.id, kind=kind.value, pattern=pattern))
    session.flush()
    audit.record(session, actor, f"pattern.{kind.value}.added", mailing_list, pattern)
    return pattern


def remove_pattern(session: Session, mailing_list: MailingList, kind: PatternKind, text: str,
                   actor: str = audit.CLI_ACTOR) -> None:
    pattern = text.strip().lower()
    row = session.scalar(select(AddressPattern).where(
        AddressPattern.list_id == mailing_list.id, AddressPattern.kind == kind.value,
        AddressPattern.pattern == pattern))
    if row is None:
        raise NotFound(f"{pattern} is not on the {kind.value} list of {mailing_list.address}")
    session.delete(row)
    audit.record(session, actor, f"pattern.{kind.value}.removed", mailing_list, pattern)
