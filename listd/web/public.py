"""The pages anyone may open: the directory, a list's page and its subscribe form, sign-in."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from listd.addresses import InvalidAddress, normalize_address
from listd.commands.membership import ask_to_join
from listd.i18n import LANGUAGES
from listd.runtime import Runtime
from listd.settings import ListSettings
from listd.web import antibot, directory, passwords, ratelimit, sessions
from listd.web.context import (
    LANGUAGE_COOKIE,
    Refused,
    Visitor,
    field,
    form_of,
    page,
    read,
    redirect,
    set_cookie,
    visitor_of,
    write,
)

router = APIRouter()


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
@router.get("/lists")
async def directory_page(request: Request) -> Response:
    visitor = await visitor_of(request)
    found = await read(visitor.runtime, lambda s, r: directory.public_lists(
        s, visitor.address, visitor.is_listmaster))
    return page(visitor, "directory.html", lists=found)


@router.get("/lists/{address}")
async def list_page(request: Request, address: str) -> Response:
    visitor = await visitor_of(request)
    shown = await read(visitor.runtime, lambda s, r: directory.view(directory.visible_list(
        s, address, visitor.address, visitor.is_listmaster)))
    return _list_page(visitor, shown)


def _list_page(visitor: Visitor, shown: directory.ListView, error: str = "",
               status: int = 200) -> Response:
    challenge = antibot.new_challenge(visitor.runtime.secret, time.time())
    return page(visitor, "list.html", status, language=shown.language, list=shown,
                challenge=challenge, difficulty=antibot.DIFFICULTY,
                honeypot=antibot.HONEYPOT, error=error)


@router.post("/lists/{address}/subscribe")
async def subscribe(request: Request, address: str) -> Response:
    visitor = await visitor_of(request)
    form = await form_of(request, visitor)
    runtime = visitor.runtime
    shown = await read(runtime, lambda s, r: directory.view(directory.visible_list(
        s, address, visitor.address, visitor.is_listmaster)))
    refusal = antibot.check(runtime.secret, time.time(), field(form, "challenge"),
                            field(form, "work"), field(form, antibot.HONEYPOT))
    if refusal is antibot.Refusal.HONEYPOT:
        # A bot filled the hidden field: it gets the usual answer, and nobody gets mail.
        return page(visitor, "subscribe_sent.html", language=shown.language, list=shown)
    if refusal is not None:
        return _list_page(visitor, shown, "The form could not be checked. Wait for the page "
                          "to be ready and send it again.", 400)
    try:
        subscriber = normalize_address(field(form, "address"))
    except InvalidAddress:
        return _list_page(visitor, shown, "This is not an e-mail address.", 400)
    if shown.subscription == "closed":
        return _list_page(visitor, shown, "This list takes no new subscribers.", 400)
    sent = await write(runtime, _ask, shown.address, subscriber, field(form, "name"),
                       client_of(request))
    if not sent:
        raise Refused(429, "Too many requests. Try again in an hour.")
    runtime.signals.mail_queued()
    return page(visitor, "subscribe_sent.html", language=shown.language, list=shown)


def _ask(session: Session, runtime: Runtime, list_address: str, subscriber: str, name: str,
         client: str) -> bool:
    if not ratelimit.allow(session, runtime.clock.now(), [
            (ratelimit.SUBSCRIBE_PER_CLIENT, client),
            (ratelimit.SUBSCRIBE_PER_ADDRESS, subscriber)]):
        return False
    mailing_list = directory.find_list(session, list_address)
    if ListSettings.of(mailing_list).subscription != "closed":
        # False when a confirmation already waits: the answer stays the same.
        ask_to_join(session, runtime, mailing_list, subscriber, name)
    return True


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    visitor = await visitor_of(request)
    return page(visitor, "signin.html")


@router.post("/signin")
async def signin_request(request: Request) -> Response:
    visitor = await visitor_of(request)
    form = await form_of(request, visitor)
    try:
        address = normalize_address(field(form, "address"))
    except InvalidAddress:
        return page(visitor, "signin.html", 400, error="This is not an e-mail address.",
                    address=field(form, "address"))
    sent = await write(visitor.runtime, _signin_mail, address, visitor.language,
                       client_of(request))
    if not sent:
        raise Refused(429, "Too many requests. Try again in an hour.")
    visitor.runtime.signals.mail_queued()
    return page(visitor, "signin_sent.html", address=address)


def _signin_mail(session: Session, runtime: Runtime, address: str, language: str,
                 client: str) -> bool:
    if not ratelimit.allow(session, runtime.clock.now(), [
            (ratelimit.SIGNIN_PER_CLIENT, client), (ratelimit.SIGNIN_PER_ADDRESS, address)]):
        return False
    sessions.request_signin(session, runtime, address, language)
    return True


@router.post("/signin/password")
async def signin_with_password(request: Request) -> Response:
    visitor = await visitor_of(request)
    form = await form_of(request, visitor)
    address = field(form, "address").lower()
    password = form.get("password")
    outcome = await write(visitor.runtime, _password_session, address,
                          password if isinstance(password, str) else "", client_of(request))
    if outcome is None:
        raise Refused(429, "Too many requests. Try again in an hour.")
    if not outcome:
        # The same answer for an unknown address and a wrong password.
        return page(visitor, "signin.html", 400, address=address,
                    password_error="This address and password do not match.")
    response = redirect(visitor, "/my")
    set_cookie(response, visitor.runtime, sessions.SESSION_COOKIE, outcome,
               max_age=int(sessions.SESSION_TTL.total_seconds()))
    return response


def _password_session(session: Session, runtime: Runtime, address: str, password: str,
                      client: str) -> str | None:
    """A new session token, "" for a wrong password, None when the attempts are used up."""
    if not ratelimit.allow(session, runtime.clock.now(), [
            (ratelimit.SIGNIN_PER_CLIENT, client), (ratelimit.PASSWORD_PER_ADDRESS, address)]):
        return None
    if not passwords.check_password(session, address, password):
        return ""
    return sessions.open_session(session, runtime, address)


@router.get("/signin/{token}")
async def signin_link(request: Request, token: str) -> Response:
    # A mail scanner fetching the link only sees this page: the sign-in needs its button.
    visitor = await visitor_of(request)
    return page(visitor, "signin_link.html", token=token)


@router.post("/signin/{token}")
async def signin_now(request: Request, token: str) -> Response:
    visitor = await visitor_of(request)
    await form_of(request, visitor)
    runtime = visitor.runtime
    opened = await write(runtime, _open, token)
    if opened is None:
        raise Refused(400, "This sign-in link is not valid any more (used or expired). "
                           "Ask for a new one.")
    response = redirect(visitor, "/my")
    set_cookie(response, runtime, sessions.SESSION_COOKIE, opened,
               max_age=int(sessions.SESSION_TTL.total_seconds()))
    return response


def _open(session: Session, runtime: Runtime, token: str) -> str | None:
    address = sessions.redeem_signin(session, runtime, token)
    return sessions.open_session(session, runtime, address) if address else None


@router.post("/signout")
async def signout(request: Request) -> Response:
    visitor = await visitor_of(request)
    await form_of(request, visitor)
    if visitor.address is not None:
        await write(visitor.runtime, lambda s, r: sessions.close_session(s, visitor.cookie_value))
    response = redirect(visitor, "/lists")
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def choose_language(request: Request) -> Response:
    visitor = await visitor_of(request)
    form = await form_of(request, visitor)
    chosen = field(form, "language")
    back = field(form, "back")
    # Only a path on this site: never an open redirect.
    response = redirect(visitor, back if back.startswith("/") and not back.startswith("//")
                        else "/lists")
    if chosen in LANGUAGES:
        set_cookie(response, visitor.runtime, LANGUAGE_COOKIE, chosen, max_age=365 * 86400)
    return response
