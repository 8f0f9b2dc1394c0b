"""The API application, mounted at /api/v1 on the `http` listener, with its OpenAPI document.

Every answer is JSON; every error an RFC 9457 problem (never a traceback, never a 500 for bad
input): validation errors name the offending field, and errors of ours are logged and answered
with a problem that says so.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from listd import __version__
from listd.api import (
    routes_audit,
    routes_bounces,
    routes_lists,
    routes_members,
    routes_moderation,
    routes_posts,
    routes_reports,
)
from listd.api.problems import ApiProblem
from listd.runtime import Runtime

log = logging.getLogger("listd.api")

PREFIX = "/api/v1"
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
DESCRIPTION = """listd's REST API: lists, members, moderation, bounces, posts and the audit log.

Authenticate with `Authorization: Bearer KEY` (a key from `listd api-key add NAME`). A key made
with `--list` acts on those lists only (anything else is 403, whether or not it exists); a key
without is site-wide. Errors are `application/problem+json` (RFC 9457) with a stable `type` and,
for bad input, the offending `field`."""


def _field(error: dict[str, Any]) -> str:
    location = [str(part) for part in error.get("loc", ()) if isinstance(part, str | int)]
    return ".".join(location[1:] if len(location) > 1 else location) or "body"


def create_api(runtime: Runtime) -> FastAPI:
    api = FastAPI(title="listd", version=__version__, description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url=None, redoc_url=None,
                  servers=[{"url": PREFIX}])
    api.state.runtime = runtime

    @api.exception_handler(ApiProblem)
    async def problem(request: Request, exc: ApiProblem) -> Response:
        return exc.response(HEADERS)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        detail = f"{_field(first)}: {first.get('msg', 'invalid')}"
        return ApiProblem(422, "invalid", "Invalid request", detail,
                          _field(first)).response(HEADERS)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "bad-request")
        return ApiProblem(exc.status_code, kind, str(exc.detail), str(exc.detail)
                          ).response(HEADERS)

    @api.exception_handler(Exception)
    async def ours(request: Request, exc: Exception) -> Response:
        log.error("error answering %s %s", request.method, request.url.path, exc_info=exc)
        return ApiProblem(500, "internal", "Internal error",
                          "listd failed on this request; the error is logged").response(HEADERS)

    for module in (routes_lists, routes_members, routes_moderation, routes_bounces,
                   routes_posts, routes_reports, routes_audit):
        api.include_router(module.router)
    return api
