"""What every page shares: who is asking (a session, or a visitor cookie), in which language,
the CSRF check on every form, running an operation in a transaction, and the answer with the
safe headers and the cookies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from listd.addresses import try_normalize
from listd.i18n import LANGUAGES, best_language
from listd.runtime import Runtime
from listd.web import sessions
from listd.web.templating import render_page

T = TypeVar("T")
LANGUAGE_COOKIE = "listd_lang"
MAX_FORM_BYTES = 1024 * 1024
SAFE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
}


class Refused(Exception):
    """The page answers with a message and a status: CSRF, rights, limits."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Visitor:
    runtime: Runtime
    address: str | None
    language: str
    cookie_value: str
    new_visitor_cookie: bool
    path: str = "/"

    @property
    def csrf(self) -> str:
        return sessions.csrf_token(self.runtime.secret, self.cookie_value)

    @property
    def is_listmaster(self) -> bool:
        return self.address is not None and self.address in {
            try_normalize(a) for a in self.runtime.config.listmasters}


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def chosen_language(request: Request, runtime: Runtime) -> str:
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in LANGUAGES:
        return cookie
    return best_language(request.headers.get("accept-language"),
                         default=runtime.config.language)


async def visitor_of(request: Request) -> Visitor:
    runtime = runtime_of(request)
    token = request.cookies.get(sessions.SESSION_COOKIE)
    address = await runtime.db.run_read(_lookup, runtime, token) if token else None
    language = chosen_language(request, runtime)
    path = request.url.path
    if address is not None and token:
        return Visitor(runtime, address, language, token, False, path)
    visitor_cookie = request.cookies.get(sessions.VISITOR_COOKIE)
    if visitor_cookie and len(visitor_cookie) >= 32:
        return Visitor(runtime, None, language, visitor_cookie, False, path)
    return Visitor(runtime, None, language, sessions.new_cookie_value(), True, path)


def _lookup(runtime: Runtime, token: str) -> str | None:
    with runtime.db.reading() as session:
        return sessions.session_address(session, runtime, token)


def secure_cookies(runtime: Runtime) -> bool:
    return (runtime.config.http.base_url or "").lower().startswith("https:")


def set_cookie(response: Response, runtime: Runtime, name: str, value: str,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure_cookies(runtime), path="/")


def finish(response: Response, visitor: Visitor) -> Response:
    response.headers.update(SAFE_HEADERS)
    if visitor.new_visitor_cookie:
        set_cookie(response, visitor.runtime, sessions.VISITOR_COOKIE, visitor.cookie_value)
    return response


def page(visitor: Visitor, template: str, status: int = 200, language: str | None = None,
         **context: Any) -> Response:
    body = render_page(template, language or visitor.language, visitor=visitor, **context)
    return finish(HTMLResponse(body, status_code=status), visitor)


def redirect(visitor: Visitor, url: str) -> Response:
    return finish(RedirectResponse(url, status_code=303), visitor)


async def form_of(request: Request, visitor: Visitor) -> FormData:
    """The posted form, once its CSRF token is the one this browser's cookie was given."""
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise Refused(413, "This form is too large.")
    form = await request.form(max_files=0, max_fields=1000)
    offered = form.get("csrf")
    if visitor.new_visitor_cookie or not sessions.csrf_valid(
            visitor.runtime.secret, visitor.cookie_value,
            offered if isinstance(offered, str) else None):
        raise Refused(403, "This form has expired or did not come from this site. "
                           "Reload the page and send it again.")
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def signed_in(visitor: Visitor) -> str:
    if visitor.address is None:
        raise Refused(401, "Sign in first.")
    return visitor.address


async def write(runtime: Runtime, fn: Callable[..., T], *args: Any) -> T:
    """Run FN(session, runtime, *args) in one transaction, committed when it returns."""
    return await runtime.db.run(_in_session, runtime, False, fn, args)


async def read(runtime: Runtime, fn: Callable[..., T], *args: Any) -> T:
    return await runtime.db.run_read(_in_session, runtime, True, fn, args)


def _in_session(runtime: Runtime, reading: bool, fn: Callable[..., T],
                args: tuple[Any, ...]) -> T:
    with (runtime.db.reading() if reading else runtime.db.session()) as session:
        return fn(session, runtime, *args)


__all__ = ["Refused", "Session", "Visitor", "field", "form_of", "page", "read", "redirect",
           "signed_in", "visitor_of", "write"]
