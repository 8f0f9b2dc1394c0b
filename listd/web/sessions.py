"""Web sign-in and sessions: a mailed single-use link proves the address, as a confirmation
does; the browser then holds a random session token whose hash is stored server-side.

The sign-in link is a pending action (tokens.issue), so single use, expiry and the signature
are the confirmations' own. CSRF tokens are an HMAC of the browser's cookie (the session's
token, or a visitor cookie before sign-in), so a form posted from another site cannot carry one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from listd import audit, tokens
from listd.addresses import normalize_address
from listd.compose import compose
from listd.distribute.queue import enqueue_mail
from listd.i18n import translate
from listd.models import WebSession
from listd.runtime import Runtime

SIGNIN = "web_signin"
SIGNIN_TTL = dt.timedelta(minutes=20)
SESSION_TTL = dt.timedelta(days=14)
SESSION_COOKIE = "listd_session"
VISITOR_COOKIE = "listd_visitor"


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret: str, cookie_value: str) -> str:
    return hmac.new(secret.encode(), f"csrf\0{cookie_value}".encode(),
                    hashlib.sha256).hexdigest()


def csrf_valid(secret: str, cookie_value: str | None, offered: str | None) -> bool:
    if not cookie_value or not offered:
        return False
    return hmac.compare_digest(csrf_token(secret, cookie_value), offered)


def site_domain(runtime: Runtime) -> str:
    return runtime.config.domains[0] if runtime.config.domains else "localhost"


def signin_url(runtime: Runtime, token: str) -> str:
    base = (runtime.config.http.base_url or "").rstrip("/")
    return f"{base}/signin/{token}"


def request_signin(session: Session, runtime: Runtime, address: str, language: str) -> str:
    """Mail ADDRESS a link that signs it in; the address is known only to whoever reads it."""
    normalized = normalize_address(address)
    pending = tokens.issue(session, runtime, SIGNIN, normalized, None, ttl=SIGNIN_TTL)
    robot = f"{runtime.config.robot}@{site_domain(runtime)}"
    body = translate(language, "Someone (probably you) asked to sign in to the mailing lists "
                     "site as {address}.\n\nTo sign in, open this link and press the button "
                     "on the page:\n\n{url}\n\nThe link works once, for {minutes} minutes. "
                     "If you did not ask for it, ignore this message.",
                     address=normalized, url=signin_url(runtime, pending.token),
                     minutes=int(SIGNIN_TTL.total_seconds() // 60))
    message = compose(sender=robot, to=normalized, body=body,
                      subject=translate(language, "Sign in to the mailing lists"),
                      auto_submitted="auto-generated")
    enqueue_mail(session, sender=f"{runtime.config.robot}-bounces@{site_domain(runtime)}",
                 recipients=[normalized], message=message, kind="signin")
    return normalized


def redeem_signin(session: Session, runtime: Runtime, token: str) -> str | None:
    """Use a sign-in token; the address it proves, or None (unknown, used or expired)."""
    redeemed = tokens.redeem(session, runtime, token)
    if redeemed.status is not tokens.Redemption.VALID or redeemed.pending is None:
        return None
    if redeemed.pending.action != SIGNIN:
        return None
    return redeemed.pending.address


def open_session(session: Session, runtime: Runtime, address: str) -> str:
    """A new session for ADDRESS; the token returned goes in the cookie and nowhere else."""
    token = new_cookie_value()
    now = runtime.clock.now()
    session.add(WebSession(token_hash=_hash(token), address=address, created_at=now,
                           expires_at=now + SESSION_TTL))
    audit.record(session, address, "web.signed_in", None, address)
    return token


def session_address(session: Session, runtime: Runtime, token: str | None) -> str | None:
    if not token:
        return None
    found = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if found is None or found.expires_at <= runtime.clock.now():
        return None
    return found.address


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))
