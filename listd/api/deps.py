"""What every API route shares: who is asking, whether the key may touch a list, and running
an operation in a database transaction with its user errors turned into problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from listd.addresses import InvalidAddress, split_list_address
from listd.api import problems
from listd.api.keys import KeyScope, authenticate
from listd.errors import UserError
from listd.runtime import Runtime

T = TypeVar("T")

bearer = HTTPBearer(auto_error=False, description="An API key from `listd api-key add`.")


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def authenticated(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> KeyScope:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise problems.unauthorized()
    runtime = runtime_of(request)
    scope = await runtime.db.run(_authenticate, runtime, credentials.credentials)
    if scope is None:
        raise problems.unauthorized()
    return scope


def _authenticate(runtime: Runtime, key: str) -> KeyScope | None:
    with runtime.db.session() as session:
        return authenticate(session, key)


Scope = Annotated[KeyScope, Depends(authenticated)]


def site_wide(scope: Scope) -> KeyScope:
    if not scope.site_wide:
        raise problems.forbidden()
    return scope


SiteScope = Annotated[KeyScope, Depends(site_wide)]


def list_in_scope(scope: KeyScope, address: str) -> str:
    """ADDRESS normalised, once the key may act on it; a scoped key learns nothing else."""
    try:
        name, domain = split_list_address(address)
    except InvalidAddress:
        if not scope.site_wide:
            raise problems.forbidden() from None
        raise problems.invalid("list", f"not a list address: {address!r}") from None
    normalized = f"{name}@{domain}"
    if not scope.may_act_on(normalized):
        raise problems.forbidden()
    return normalized


async def write(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """Run FN(session, runtime, *args) in one transaction, committed when it returns."""
    runtime = runtime_of(request)
    return await runtime.db.run(_in_session, runtime, False, fn, args)


async def read(request: Request, fn: Callable[..., T], *args: Any) -> T:
    runtime = runtime_of(request)
    return await runtime.db.run_read(_in_session, runtime, True, fn, args)


def _in_session(runtime: Runtime, reading: bool, fn: Callable[..., T], args: tuple[Any, ...]
                ) -> T:
    try:
        with (runtime.db.reading() if reading else runtime.db.session()) as session:
            return fn(session, runtime, *args)
    except problems.ApiProblem:
        raise
    except UserError as error:
        raise problems.from_user_error(error) from None




__all__ = ["Scope", "Session", "SiteScope", "list_in_scope", "read", "write"]
