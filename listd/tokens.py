"""Confirmation tokens: random, signed, single-use, expiring, bound to an action and an address.

A token is NONCE + MAC, lowercase letters and digits only, because it travels in the local part
of `LIST-confirm+TOKEN@DOMAIN`, which listd lowercases. The MAC (HMAC-SHA256 with the site
secret) covers the action, the address and the nonce, so a token is only good for the action and
address it was made for, even if a database row were edited. Single use and expiry are kept in
the `pending_actions` row the token names.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from listd.attached import attached
from listd.database import affected_rows
from listd.models import MailingList, PendingAction
from listd.runtime import Runtime

NONCE_LENGTH = 16  # 80 bits of randomness
MAC_LENGTH = 16  # 80 bits of HMAC
TOKEN_LENGTH = NONCE_LENGTH + MAC_LENGTH
# Payload key: when the request was last mailed, if it was mailed again after created_at.
ASKED_AT = "asked_at"

_PENDING = cast(Table, PendingAction.__table__)
# Built once (each is run for every request and every confirmation): Core on the table, as
# building and loading through the ORM costs more than SQLite takes to run them.
_ISSUE = insert(_PENDING).returning(*_PENDING.c)
_WAITING = select(_PENDING).where(
    _PENDING.c.action == bindparam("action"), _PENDING.c.address == bindparam("address"),
    _PENDING.c.used_at.is_(None), _PENDING.c.expires_at > bindparam("now"))
_WAITING_FOR_LIST = _WAITING.where(_PENDING.c.list_id == bindparam("list_id")) \
    .order_by(_PENDING.c.id.desc())
_WAITING_SITE_WIDE = _WAITING.where(_PENDING.c.list_id.is_(None)).order_by(_PENDING.c.id.desc())
# A token is used by the one UPDATE that finds it unused and unexpired: of two confirmations
# of one token, whoever comes second finds nothing (the row is locked until the first commits).
_REDEEM = update(_PENDING).where(
    _PENDING.c.token == bindparam("answered_token"), _PENDING.c.used_at.is_(None),
    _PENDING.c.expires_at > bindparam("now")).values(used_at=bindparam("now"))
_REDEEM_ANY = _REDEEM.returning(*_PENDING.c)
_REDEEM_IN_LIST = _REDEEM.where(_PENDING.c.list_id == bindparam("in_list")) \
    .returning(*_PENDING.c)
_GIVE_BACK = update(_PENDING).where(_PENDING.c.id == bindparam("pending_id")) \
    .values(used_at=None)
_BY_TOKEN = select(PendingAction).where(PendingAction.token == bindparam("token"))


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def _mac(secret: str, action: str, address: str, nonce: str) -> str:
    signed = f"confirm\0{action}\0{address}\0{nonce}".encode()
    return _b32(hmac.new(secret.encode(), signed, hashlib.sha256).digest())[:MAC_LENGTH]


def make_token(secret: str, action: str, address: str) -> str:
    nonce = _b32(secrets.token_bytes(10))[:NONCE_LENGTH]
    return nonce + _mac(secret, action, address, nonce)


def token_matches(secret: str, token: str, action: str, address: str) -> bool:
    """Whether TOKEN was made by us for exactly this ACTION and ADDRESS."""
    token = token.lower()
    if len(token) != TOKEN_LENGTH:
        return False
    nonce, mac = token[:NONCE_LENGTH], token[NONCE_LENGTH:]
    return hmac.compare_digest(mac, _mac(secret, action, address, nonce))


def looks_like_token(text: str) -> bool:
    return len(text) == TOKEN_LENGTH and text.isalnum() and text.isascii()


def issue(session: Session, runtime: Runtime, action: str, address: str,
          mailing_list: MailingList | None, payload: dict[str, Any] | None = None,
          ttl: dt.timedelta | None = None) -> PendingAction:
    """Record ACTION for ADDRESS as waiting for confirmation; the row's token confirms it."""
    now = runtime.clock.now()
    row = session.execute(_ISSUE, {
        "token": make_token(runtime.secret, action, address), "action": action,
        "list_id": mailing_list.id if mailing_list is not None else None, "address": address,
        "payload": dict(payload or {}), "created_at": now, "used_at": None,
        "expires_at": now + (ttl or dt.timedelta(days=runtime.config.token_ttl_days)),
    }).mappings().one()
    return attached(session, PendingAction, row)


def waiting(session: Session, runtime: Runtime, action: str, address: str,
            mailing_list: MailingList | None, same: Mapping[str, object] | None = None
            ) -> PendingAction | None:
    """The newest unused, unexpired ACTION for ADDRESS on MAILING_LIST whose payload agrees
    with SAME, if one waits."""
    # Core reads do not flush the session: a change made through the ORM must be seen.
    session.flush()
    values: dict[str, object] = {"action": action, "address": address,
                                 "now": runtime.clock.now()}
    if mailing_list is not None:
        query, values["list_id"] = _WAITING_FOR_LIST, mailing_list.id
    else:
        query = _WAITING_SITE_WIDE
    for row in session.execute(query, values).mappings():
        if all(row["payload"].get(k) == v for k, v in (same or {}).items()):
            return attached(session, PendingAction, row)
    return None


def asked_at(pending: PendingAction) -> dt.datetime:
    """When the confirmation request was last mailed (a reminder counts)."""
    last = pending.payload.get(ASKED_AT)
    return dt.datetime.fromisoformat(last) if isinstance(last, str) else pending.created_at


def asked(payload: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
    """PAYLOAD saying that the confirmation request was mailed AT."""
    return {**payload, ASKED_AT: at.isoformat()}


def mark_asked(pending: PendingAction, at: dt.datetime) -> None:
    # A new dict, so the JSON column is seen as changed.
    pending.payload = asked(pending.payload, at)


class Redemption(enum.StrEnum):
    VALID = "valid"
    # No such token, or one not signed by us for its action and address: the same answer for
    # both, so a guesser learns nothing.
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Redeemed:
    status: Redemption
    pending: PendingAction | None = None


def redeem(session: Session, runtime: Runtime, token: str,
           list_id: int | None = None) -> Redeemed:
    """Use TOKEN once: check signature, expiry and earlier use, then mark it used.

    LIST_ID, when given, is the only list the token may belong to."""
    token = token.strip().lower()
    if not looks_like_token(token):
        return Redeemed(Redemption.UNKNOWN)
    session.flush()  # a use or give-back not yet written must count (Core does not flush)
    values: dict[str, object] = {"answered_token": token, "now": runtime.clock.now()}
    if list_id is not None:
        query, values["in_list"] = _REDEEM_IN_LIST, list_id
    else:
        query = _REDEEM_ANY
    row = session.execute(query, values).mappings().first()
    if row is None:
        return _not_redeemed(session, runtime, token, list_id)
    if not token_matches(runtime.secret, token, row["action"], row["address"]):
        # A row whose action or address was edited after its token was made: not ours.
        session.execute(_GIVE_BACK, {"pending_id": row["id"]})
        return Redeemed(Redemption.UNKNOWN)
    return Redeemed(Redemption.VALID, attached(session, PendingAction, row, ("used_at",)))


def _not_redeemed(session: Session, runtime: Runtime, token: str,
                  list_id: int | None) -> Redeemed:
    """Why TOKEN could not be used: unknown (here), used, or expired."""
    pending = session.scalar(_BY_TOKEN, {"token": token})
    if pending is None or not token_matches(runtime.secret, token, pending.action,
                                            pending.address):
        return Redeemed(Redemption.UNKNOWN)
    if list_id is not None and pending.list_id != list_id:
        return Redeemed(Redemption.UNKNOWN)
    if pending.used_at is not None:
        return Redeemed(Redemption.USED, pending)
    # Unused, of this list, yet not taken by the UPDATE: it has expired.
    return Redeemed(Redemption.EXPIRED, pending)


def unredeem(pending: PendingAction) -> None:
    """Give back the use of a token whose answer was refused, so the right answer still can."""
    pending.used_at = None


def withdraw(session: Session, runtime: Runtime, token: str) -> None:
    """Mark another token used, as when approving a request makes its refusal token void."""
    pending = session.scalar(select(PendingAction).where(PendingAction.token == token))
    if pending is not None and pending.used_at is None:
        pending.used_at = runtime.clock.now()


# Spent and expired confirmations are kept this long (for "already used" answers and audit).
KEEP_SPENT = dt.timedelta(days=30)


def purge_spent_tokens(runtime: Runtime) -> int:
    """Delete pending actions that expired more than KEEP_SPENT ago (a periodic job)."""
    with runtime.db.session() as session:
        result = session.execute(delete(PendingAction).where(
            PendingAction.expires_at < runtime.clock.now() - KEEP_SPENT))
        return affected_rows(result)
