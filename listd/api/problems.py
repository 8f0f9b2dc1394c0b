"""RFC 9457 problem details: every API error is one, with a stable type and the field at fault."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from listd.errors import AlreadyExists, NotFound, UserError
from listd.posting.moderation import AlreadyDecided
from listd.settings import SettingError
from listd.suppression import Suppressed

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"


class Problem(BaseModel):
    type: str = Field(description="A stable URI reference naming the kind of problem.")
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="The request field at fault.")


class ApiProblem(Exception):
    def __init__(self, status: int, kind: str, title: str, detail: str,
                 field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail, self.field = (
            status, kind, title, detail, field)

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body = Problem(type=TYPE_BASE + self.kind, title=self.title, status=self.status,
                       detail=self.detail, field=self.field)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=self.status,
                            media_type=MEDIA_TYPE, headers=headers)


def unauthorized() -> ApiProblem:
    return ApiProblem(401, "unauthorized", "Unauthorized",
                      "give a valid API key as 'Authorization: Bearer KEY'")


def forbidden() -> ApiProblem:
    # The same answer whether or not the list exists: a key must not learn of other lists.
    return ApiProblem(403, "forbidden", "Forbidden", "this API key may not act on that")


def invalid(field: str, detail: str) -> ApiProblem:
    return ApiProblem(422, "invalid", "Invalid request", detail, field)


def from_user_error(error: UserError, field: str | None = None) -> ApiProblem:
    """The problem a user error from an operation stands for."""
    text = str(error)
    if isinstance(error, NotFound):
        return ApiProblem(404, "not-found", "Not found", text, field)
    if isinstance(error, (AlreadyExists, AlreadyDecided)):
        return ApiProblem(409, "conflict", "Conflict", text, field)
    if isinstance(error, Suppressed):
        return ApiProblem(409, "suppressed", "Suppressed address", text, field or "address")
    if isinstance(error, SettingError):
        return ApiProblem(422, "invalid-setting", "Invalid setting", text, field)
    if field is None and ":" in text.split(" ", 1)[0]:
        field = text.split(":", 1)[0]
    return ApiProblem(422, "invalid", "Invalid request", text, field)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry that documents each error status as a problem document."""
    titles = {400: "Bad request", 401: "Missing, unknown or revoked API key",
              403: "Outside this key's scope", 404: "Not found", 409: "Conflict",
              422: "Invalid request: `field` names the offending field"}
    return {status: {"description": titles[status], "model": Problem,
                     "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}
