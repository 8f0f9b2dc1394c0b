"""/lists/{address}/bounces: who bounces and why, their events, and a reset."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from listd.api import problems
from listd.api.deps import Scope, list_in_scope, read, write
from listd.api.schemas import BounceEventOut, BouncingMember, MemberOut
from listd.bounce import admin
from listd.lists import find_list
from listd.members import describe_member, find_member
from listd.runtime import Runtime

router = APIRouter(responses=problems.documented(401, 403, 404, 409, 422), tags=["bounces"])
EVENTS_SHOWN = 200


@router.get("/lists/{address}/bounces", response_model=list[BouncingMember])
async def get_bouncing(request: Request, scope: Scope, address: str) -> list[dict[str, Any]]:
    """Members with a bounce score or suspended for bounces, worst first."""
    target = list_in_scope(scope, address)
    return await read(request, lambda s, r: admin.bouncing_members(s, target))


@router.get("/lists/{address}/bounces/{member}", response_model=list[BounceEventOut])
async def get_bounce_events(request: Request, scope: Scope, address: str,
                            member: str) -> list[dict[str, Any]]:
    """The bounce events recorded for one address on this list, newest first."""
    target = list_in_scope(scope, address)

    return await read(request, lambda s, r: admin.bounce_events(s, target, member,
                                                                 EVENTS_SHOWN))


@router.post("/lists/{address}/bounces/{member}/reset", response_model=MemberOut)
async def reset(request: Request, scope: Scope, address: str, member: str) -> dict[str, Any]:
    """Clear the member's score and resume delivery (`listd bounce reset`)."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        reset_address = admin.reset_member(session, target, member, scope.actor)
        found = find_member(session, find_list(session, target), reset_address)
        assert found is not None
        return describe_member(found)

    return await write(request, run)
