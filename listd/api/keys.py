"""API keys: created once and shown once, kept as a hash, scoped to lists or site-wide."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.clock import utcnow
from listd.errors import AlreadyExists, NotFound, UserError
from listd.lists import find_list
from listd.models import ApiKey

KEY_PREFIX = "listd_"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Seen-at is written at most this often per key: a busy CRM must not turn reads into writes.
LAST_USED_GRANULARITY_SECONDS = 60


@dataclass(frozen=True)
class KeyScope:
    """Who an authenticated request acts as: the key's name, and the lists it may touch."""

    name: str
    lists: frozenset[str]

    @property
    def site_wide(self) -> bool:
        return not self.lists

    @property
    def actor(self) -> str:
        return f"{audit.API_ACTOR_PREFIX}{self.name}"

    def may_act_on(self, list_address: str) -> bool:
        return self.site_wide or list_address.strip().lower() in self.lists


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_key(session: Session, name: str, lists: Iterable[str] = (),
            actor: str = audit.CLI_ACTOR) -> str:
    """Create key NAME and return it; it is never stored, so this is the only time it is seen."""
    if not NAME.match(name):
        raise UserError(f"invalid key name {name!r}: letters, digits, '.', '_' or '-'")
    if session.scalar(select(ApiKey).where(ApiKey.name == name)) is not None:
        raise AlreadyExists(f"an API key named {name} already exists")
    addresses = sorted({find_list(session, address).address for address in lists})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(name=name, key_hash=hash_key(key), lists=addresses))
    session.flush()
    audit.record(session, actor, "api_key.added", None, name, lists=addresses)
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def describe_key(key: ApiKey) -> dict[str, object]:
    return {
        "name": key.name,
        "scope": list(key.lists) or "site",
        "created_at": key.created_at.isoformat(timespec="seconds"),
        "last_used_at": (key.last_used_at.isoformat(timespec="seconds")
                         if key.last_used_at else None),
        "revoked": key.revoked_at is not None,
    }


def revoke_key(session: Session, name: str, actor: str = audit.CLI_ACTOR) -> None:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if key is None or key.revoked_at is not None:
        raise NotFound(f"no active API key named {name}")
    key.revoked_at = utcnow()
    audit.record(session, actor, "api_key.revoked", None, name)


def authenticate(session: Session, presented: str) -> KeyScope | None:
    """The scope of a live key, or None for a missing, unknown or revoked one."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 128:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or (
            now - key.last_used_at).total_seconds() > LAST_USED_GRANULARITY_SECONDS:
        key.last_used_at = now
    return KeyScope(key.name, frozenset(key.lists))

