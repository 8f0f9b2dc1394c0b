"""One-click unsubscribe (RFC 8058) through the daemon's real HTTP endpoint."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from listd.config import Config
from listd.database import Database
from listd.deliverability.unsubscribe import (
    unsubscribe_token,
    unsubscribe_url,
    verify_unsubscribe_token,
)
from listd.lists import find_list
from listd.members import find_member
from listd.models import AuditEntry
from listd.serve import Daemon
from tests.support.lists import make_list

LIST = "news@lists.example.org"
MEMBER = "jeanne@example.org"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def list_id(db: Database) -> int:
    with db.reading() as session:
        return find_list(session, LIST).id


def subscribed(db: Database, address: str = MEMBER) -> bool:
    with db.reading() as session:
        return find_member(session, find_list(session, LIST), address) is not None


def client(daemon: Daemon) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}")


def test_tokens_are_signed_short_and_bound_to_list_and_address() -> None:
    token = unsubscribe_token("secret", 42, "Jeanne@Example.org")
    claim = verify_unsubscribe_token("secret", token)
    assert claim is not None and (claim.list_id, claim.address) == (42, "jeanne@example.org")
    assert len(token) < 80 and token.isascii() and "=" not in token
    assert verify_unsubscribe_token("other-secret", token) is None
    tampered = unsubscribe_token("secret", 43, "jeanne@example.org")
    assert verify_unsubscribe_token("secret", tampered[:22] + token[22:]) is None
    assert verify_unsubscribe_token("secret", "not a token") is None
    assert unsubscribe_url("https://lists.example.org/", token) == (
        f"https://lists.example.org/unsubscribe/{token}")


async def test_one_click_post_unsubscribes_and_is_audited(daemon: Daemon, db: Database,
                                                          config: Config) -> None:
    make_list(db, config, LIST, subscribers=(MEMBER, "paul@example.org"))
    token = unsubscribe_token(config.secret or "", list_id(db), MEMBER)
    async with client(daemon) as http:
        response = await http.post(f"/unsubscribe/{token}", data=ONE_CLICK)
        assert response.status_code == 200
        assert "is unsubscribed" in response.text
        assert response.headers["referrer-policy"] == "no-referrer"
        assert not subscribed(db) and subscribed(db, "paul@example.org")
        with db.reading() as session:
            entry = session.scalar(select(AuditEntry).where(
                AuditEntry.action == "member.unsubscribed"))
            assert entry is not None and entry.subject == MEMBER
            assert entry.detail == {"via": "one-click"}

        # Reused: nothing left to do, and the page says so.
        again = await http.post(f"/unsubscribe/{token}", data=ONE_CLICK)
        assert again.status_code == 200 and "not subscribed" in again.text


async def test_get_shows_a_confirmation_in_the_list_language_and_changes_nothing(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, subscribers=(MEMBER,), language="fr")
    token = unsubscribe_token(config.secret or "", list_id(db), MEMBER)
    async with client(daemon) as http:
        page = await http.get(f"/unsubscribe/{token}")
        assert page.status_code == 200
        assert "Désabonner jeanne@example.org de news@lists.example.org" in page.text
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
        assert subscribed(db)
        # A POST without the RFC 8058 body is not a one-click request.
        refused = await http.post(f"/unsubscribe/{token}", data={"x": "y"})
        assert refused.status_code == 400 and subscribed(db)
        # The button posts the form: that unsubscribes.
        done = await http.post(f"/unsubscribe/{token}", data=ONE_CLICK)
        assert done.status_code == 200 and "est désabonné" in done.text


async def test_a_forged_token_does_nothing_and_errors_leak_nothing(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, subscribers=(MEMBER,))
    forged = unsubscribe_token("guessed-secret", list_id(db), MEMBER)
    async with client(daemon) as http:
        response = await http.post(f"/unsubscribe/{forged}", data=ONE_CLICK)
        assert response.status_code == 404 and "not valid" in response.text
        assert (await http.get("/unsubscribe/%00%ff")).status_code == 404
        unknown = await http.get("/admin")
        assert unknown.status_code == 404 and "Traceback" not in unknown.text
        wrong_method = await http.delete(f"/unsubscribe/{forged}")
        assert wrong_method.status_code == 405 and "<html" in wrong_method.text
        assert "server" not in response.headers
    assert subscribed(db)
