"""/domains and /lists: what listd serves, list requests, their approval, and settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from sqlalchemy.orm import Session

from listd import lifecycle, lists
from listd.api import problems
from listd.api.deps import Scope, SiteScope, list_in_scope, read, write
from listd.api.keys import KeyScope
from listd.api.schemas import DomainIn, DomainOut, ListOut, ListRequest, Refusal, SettingValue
from listd.models import ListStatus
from listd.runtime import Runtime
from listd.settings import ListSettings, SettingError

SettingsBody = Annotated[dict[str, SettingValue], Body(
    description="Settings to change, by name; validated as `listd list set` validates them.")]
ERRORS = problems.documented(401, 403, 404, 409, 422)
router = APIRouter(responses=ERRORS)


@router.get("/domains", response_model=list[DomainOut], tags=["domains"])
async def get_domains(request: Request, scope: Scope) -> list[dict[str, Any]]:
    """The mail domains listd serves, with their number of lists."""
    return await read(request, _domains)


def _domains(session: Session, runtime: Runtime) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for mailing_list in lists.all_lists(session):
        counts[mailing_list.domain.name] = counts.get(mailing_list.domain.name, 0) + 1
    return [{"domain": name, "lists": counts.get(name, 0)}
            for name in sorted(lists.served_domains(session, runtime.config))]


@router.post("/domains", response_model=DomainOut, status_code=201, tags=["domains"])
async def post_domain(request: Request, scope: SiteScope, body: DomainIn) -> dict[str, Any]:
    """Serve lists on one more domain (site-wide keys only)."""
    name = await write(request, lambda s, r: lists.add_domain(s, body.name).name)
    return {"domain": name, "lists": 0}


@router.get("/lists", response_model=list[ListOut], tags=["lists"])
async def get_lists(request: Request, scope: Scope,
                    status: ListStatus | None = None) -> list[dict[str, Any]]:
    """The lists this key may act on, optionally only those in one status."""
    return await read(request, _lists, scope, status)


def _lists(session: Session, runtime: Runtime, scope: KeyScope, status: ListStatus | None
           ) -> list[dict[str, Any]]:
    chosen = lists.all_lists(session, [status] if status else None)
    return [lists.describe_list(session, m) for m in chosen if scope.may_act_on(m.address)]


@router.post("/lists", response_model=ListOut, status_code=201, tags=["lists"])
async def post_list(request: Request, scope: SiteScope, body: ListRequest) -> dict[str, Any]:
    """Request a list; it is pending, and takes no mail, until it is approved."""
    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        created = lifecycle.request_list(session, runtime.config, body.address, body.owners,
                                         body.template, body.subject, requested_by=scope.actor)
        return lists.describe_list(session, created)

    return await write(request, run)


@router.get("/lists/{address}", response_model=ListOut, tags=["lists"])
async def get_list(request: Request, scope: Scope, address: str) -> dict[str, Any]:
    target = list_in_scope(scope, address)
    return await read(request, lambda s, r: lists.describe_list(s, lists.find_list(s, target)))


def _transition(fn: Any, scope: KeyScope, target: str, **extra: Any) -> Any:
    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        changed = fn(session, runtime, target, scope.actor, **extra)
        return lists.describe_list(session, changed)
    return run


@router.post("/lists/{address}/approve", response_model=ListOut, tags=["lists"])
async def approve(request: Request, scope: SiteScope, address: str) -> dict[str, Any]:
    """Approve a pending list request; the requester and the owners are told."""
    target = list_in_scope(scope, address)
    return await write(request, _transition(
        lambda s, r, a, actor: lifecycle.approve_list_request(s, r.config, a, actor),
        scope, target))


@router.post("/lists/{address}/refuse", response_model=ListOut, tags=["lists"])
async def refuse(request: Request, scope: SiteScope, address: str,
                 body: Refusal | None = None) -> dict[str, Any]:
    """Refuse a pending list request, with a reason the requester receives."""
    target = list_in_scope(scope, address)
    reason = body.reason if body else None
    return await write(request, _transition(
        lambda s, r, a, actor: lifecycle.reject_list_request(s, r.config, a, actor, reason),
        scope, target))


@router.post("/lists/{address}/close", response_model=ListOut, tags=["lists"])
async def close(request: Request, scope: SiteScope, address: str) -> dict[str, Any]:
    """Close a list: it takes no more mail; members and archives stay."""
    target = list_in_scope(scope, address)
    return await write(request, _transition(
        lambda s, r, a, actor: lists.close_list(s, a, actor), scope, target))


@router.post("/lists/{address}/reopen", response_model=ListOut, tags=["lists"])
async def reopen(request: Request, scope: SiteScope, address: str) -> dict[str, Any]:
    """Reopen a closed list."""
    target = list_in_scope(scope, address)
    return await write(request, _transition(
        lambda s, r, a, actor: lists.reopen_list(s, a, actor), scope, target))


@router.get("/lists/{address}/settings", response_model=dict[str, SettingValue],
            tags=["lists"])
async def get_settings(request: Request, scope: Scope, address: str) -> dict[str, Any]:
    """Every setting of the list with its current value (see `listd list show`)."""
    target = list_in_scope(scope, address)
    return await read(request, lambda s, r: _settings(lists.find_list(s, target)))


def _settings(mailing_list: Any) -> dict[str, Any]:
    settings = ListSettings.of(mailing_list)
    values = {name: getattr(settings, name) for name in settings.__dataclass_fields__}
    return {"subject": mailing_list.subject, "description": mailing_list.description,
            "language": mailing_list.language, **values}


@router.patch("/lists/{address}/settings", response_model=dict[str, SettingValue],
              tags=["lists"])
async def patch_settings(request: Request, scope: Scope, address: str,
                         body: SettingsBody) -> dict[str, Any]:
    """Change settings: all of them, or none when one value is refused."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        for key, value in body.items():
            try:
                lists.set_list_setting(session, target, key, value, scope.actor)
            except SettingError as error:
                raise problems.from_user_error(error, field=key) from None
        return _settings(lists.find_list(session, target))

    return await write(request, run)

