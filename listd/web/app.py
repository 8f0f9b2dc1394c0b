"""The ASGI app: the pages (public, account, owners, listmasters), one-click unsubscribe
(RFC 8058), the static assets, and the error pages.

No framework page ever reaches a client: every error, ours included, answers with a short
page of our own and never a traceback. Tokens travel in the URL path, so responses tell
browsers not to cache them nor send them on as a Referer.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from listd.api.app import PREFIX as API_PREFIX
from listd.api.app import create_api
from listd.deliverability.unsubscribe import UnsubscribeClaim, verify_unsubscribe_token
from listd.errors import NotFound, UserError
from listd.i18n import translate
from listd.runtime import Runtime
from listd.web import (
    account,
    admin,
    confirming,
    context,
    listmaster,
    pages,
    public,
    redirects,
    static,
    unsubscription,
)
from listd.web.archive import add_archive_routes
from listd.web.unsubscription import Outcome

log = logging.getLogger("listd.web")

# An RFC 8058 request body is 26 bytes; anything much larger is not one.
MAX_BODY = 16 * 1024
SAFE_HEADERS = context.SAFE_HEADERS


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SAFE_HEADERS)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount(API_PREFIX, create_api(runtime))
    app.state.runtime = runtime
    site_language = runtime.config.language
    _add_pages(app)
    _add_error_pages(app, site_language)

    @app.get("/unsubscribe/{token}")
    async def unsubscribe_page(token: str) -> Response:
        claim = verify_unsubscribe_token(runtime.secret, token)
        if claim is None:
            return html(pages.message_page(site_language, "invalid"), 404)
        situation = await runtime.db.run_read(_look, runtime, claim)
        if situation.outcome is Outcome.SUBSCRIBED:
            return html(pages.confirm_page(situation.language, claim.address,
                                           situation.list_address))
        return _answer(situation, claim.address)

    @app.post("/unsubscribe/{token}")
    async def unsubscribe_now(token: str, request: Request) -> Response:
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            return html(pages.message_page(site_language, "bad_request"), 413)
        form = await request.form(max_files=0, max_fields=10)
        if form.get("List-Unsubscribe") != "One-Click":
            return html(pages.message_page(site_language, "bad_request"), 400)
        claim = verify_unsubscribe_token(runtime.secret, token)
        if claim is None:
            log.info("refused a one-click unsubscribe with an invalid token")
            return html(pages.message_page(site_language, "invalid"), 404)
        situation = await runtime.db.run(_unsubscribe, runtime, claim)
        if situation.outcome is Outcome.UNSUBSCRIBED:
            log.info("%s unsubscribed from %s (one-click)", claim.address,
                     situation.list_address)
        return _answer(situation, claim.address)

    add_archive_routes(app, runtime)
    return app


def _add_pages(app: FastAPI) -> None:
    for router in (static.router, redirects.router, public.router, confirming.router,
                   account.router, listmaster.router, admin.router):
        app.include_router(router)

    @app.exception_handler(context.Refused)
    async def refused(request: Request, exc: context.Refused) -> Response:
        return await _refusal(request, exc.status, exc.message)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return await _refusal(request, 404, "There is no such page.")

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return await _refusal(request, 400, str(exc))


def _add_error_pages(app: FastAPI, site_language: str) -> None:
    """The answers to what no page handles: never a framework page, never a traceback."""
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = "not_found" if exc.status_code == 404 else "bad_request"
        return html(pages.message_page(site_language, key), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return html(pages.message_page(site_language, "bad_request"), 400)

    @app.exception_handler(Exception)
    async def our_error(request: Request, exc: Exception) -> Response:
        log.error("error answering %s %s", request.method, request.url.path, exc_info=exc)
        return html(pages.message_page(site_language, "error"), 500)


async def _refusal(request: Request, status: int, message: str) -> Response:
    visitor = await context.visitor_of(request)
    if status == 401:
        return context.redirect(visitor, "/signin")
    heading = translate(visitor.language, "Sorry")
    return context.page(visitor, "message.html", status, heading=heading,
                        lines=[translate(visitor.language, message)])


def _answer(situation: unsubscription.Situation, address: str) -> Response:
    language = situation.language
    if situation.outcome is Outcome.UNSUBSCRIBED:
        return html(pages.message_page(language, "done", address=address,
                                       list=situation.list_address))
    if situation.outcome is Outcome.NOT_SUBSCRIBED:
        return html(pages.message_page(language, "not_subscribed", address=address,
                                       list=situation.list_address))
    return html(pages.message_page(language, "no_list"), 404)


def _look(runtime: Runtime, claim: UnsubscribeClaim) -> unsubscription.Situation:
    with runtime.db.reading() as session:
        return unsubscription.look(session, claim)


def _unsubscribe(runtime: Runtime, claim: UnsubscribeClaim) -> unsubscription.Situation:
    with runtime.db.session() as session:
        return unsubscription.unsubscribe(session, claim)
