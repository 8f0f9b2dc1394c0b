"""Optional passwords: an address signed in by a mailed link may add one from /my, then sign
in with it. Stored as scrypt hashes (hashlib.scrypt, a random salt each)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from listd import audit
from listd.errors import UserError
from listd.models import WebPassword
from listd.runtime import Runtime

MIN_LENGTH = 10
N, R, P = 2**14, 8, 1
# Checked against when the address has no password, so both answers take as long.
_DUMMY = "scrypt$16384$8$1$00$00"


class WeakPassword(UserError):
    """A password too short to keep anyone out."""


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32,
                          maxmem=64 * 1024 * 1024)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    return f"scrypt${N}${R}${P}${salt.hex()}${_derive(password, salt, N, R, P).hex()}"


def password_matches(stored: str, password: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        derived = _derive(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived.hex(), digest)


def set_password(session: Session, runtime: Runtime, address: str, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    found = session.get(WebPassword, address)
    if found is None:
        session.add(WebPassword(address=address, hash=hash_password(password),
                                set_at=runtime.clock.now()))
    else:
        found.hash, found.set_at = hash_password(password), runtime.clock.now()
    audit.record(session, address, "web.password_set", None, address)


def check_password(session: Session, address: str, password: str) -> bool:
    found = session.get(WebPassword, address)
    matches = password_matches(found.hash if found else _DUMMY, password)
    return found is not None and matches
