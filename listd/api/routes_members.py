"""/lists/{address}/members: paging and search, one member, additions, changes, import, export."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from listd import member_export, members, suppression
from listd.addresses import normalize_address
from listd.api import problems
from listd.api.deps import Scope, list_in_scope, read, runtime_of, write
from listd.api.schemas import (
    ImportReportOut,
    MemberAdded,
    MemberChange,
    MemberIn,
    MemberOut,
    MemberPageOut,
)
from listd.commands.membership import ask_to_join
from listd.errors import NotFound
from listd.lists import find_list
from listd.models import Role
from listd.runtime import Runtime

ERRORS = problems.documented(401, 403, 404, 409, 422)
router = APIRouter(responses=ERRORS, tags=["members"])
MAX_IMPORT_BYTES = 64 * 1024 * 1024
RoleQuery = Annotated[Role, Query(description="Which of the address's memberships.")]
ForceQuery = Annotated[bool, Query(description=(
    "true: import addresses on the suppression list too (the people gave new consent)"))]


def encode_cursor(after: tuple[str, str] | None) -> str | None:
    if after is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    if not cursor:
        return None
    try:
        address, role = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(address), Role(role).value
    except (ValueError, TypeError):
        raise problems.invalid("cursor", "not a cursor this API gave out") from None


@router.get("/lists/{address}/members", response_model=MemberPageOut)
async def get_members(request: Request, scope: Scope, address: str,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      cursor: Annotated[str | None, Query(max_length=2000)] = None,
                      q: Annotated[str, Query(max_length=320,
                                              description="Part of an address or a name.")] = "",
                      role: Role | None = None) -> dict[str, Any]:
    """A page of members in address order; follow `next_cursor` for the next one."""
    target = list_in_scope(scope, address)
    after = decode_cursor(cursor)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        page = members.page_members(session, find_list(session, target), limit=limit,
                                    after=after, role=role, search=q)
        return {"members": [members.describe_member(m) for m in page.members],
                "next_cursor": encode_cursor(page.after)}

    return await read(request, run)


@router.get("/lists/{address}/members/{member}", response_model=MemberOut)
async def get_member(request: Request, scope: Scope, address: str, member: str,
                     role: RoleQuery = Role.SUBSCRIBER) -> dict[str, Any]:
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        mailing_list = find_list(session, target)
        found = members.find_member(session, mailing_list,
                                    normalize_address(member), role)
        if found is None:
            raise NotFound(f"{member} is not {role.value} of {mailing_list.address}")
        return members.describe_member(found)

    return await read(request, run)


@router.post("/lists/{address}/members", response_model=MemberAdded, status_code=201)
async def post_member(request: Request, scope: Scope, address: str,
                      body: MemberIn) -> dict[str, Any]:
    """Add a member, or with `confirm` mail it a confirmation request (double opt-in)."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        mailing_list = find_list(session, target)
        if body.confirm:
            if body.role is not Role.SUBSCRIBER:
                raise problems.invalid("confirm", "only subscribers confirm by mail")
            if not body.force:
                suppression.refuse_if_suppressed(session, normalize_address(body.address))
            ask_to_join(session, runtime, mailing_list, body.address, body.name)
            return {"address": normalize_address(body.address),
                    "outcome": "confirmation-sent"}
        added = members.add_member(session, mailing_list, body.address, body.name, body.role,
                                   actor=scope.actor, force=body.force)
        return {"address": added.address, "outcome": "added",
                "member": members.describe_member(added)}

    return await write(request, run)


@router.patch("/lists/{address}/members/{member}", response_model=MemberOut)
async def patch_member(request: Request, scope: Scope, address: str, member: str,
                       body: MemberChange, role: RoleQuery = Role.SUBSCRIBER) -> dict[str, Any]:
    """Change a member's delivery mode or role."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        changed = members.change_member(session, find_list(session, target), member, role,
                                        delivery=body.delivery, new_role=body.role,
                                        actor=scope.actor)
        return members.describe_member(changed)

    return await write(request, run)


@router.delete("/lists/{address}/members/{member}", status_code=204)
async def delete_member(request: Request, scope: Scope, address: str, member: str,
                        role: RoleQuery = Role.SUBSCRIBER) -> None:
    """Remove a member (never the last owner)."""
    target = list_in_scope(scope, address)
    await write(request, lambda s, r: members.remove_member(
        s, find_list(s, target), member, role, actor=scope.actor))


IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "text/plain": {"schema": {"type": "string"},
                   "example": "jeanne@example.org Jeanne Dupont\n"},
    "text/csv": {"schema": {"type": "string"},
                 "example": "address,name\njeanne@example.org,Jeanne Dupont\n"}}}}


@router.post("/lists/{address}/members/import", response_model=ImportReportOut,
             openapi_extra=IMPORT_BODY)
async def import_members(request: Request, scope: Scope, address: str,
                         role: RoleQuery = Role.SUBSCRIBER,
                         force: ForceQuery = False) -> dict[str, Any]:
    """Add many members at once: `address Name` lines, or CSV with address and name columns.
    The report is the one `listd member import` prints."""
    target = list_in_scope(scope, address)
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise problems.invalid("body", f"at most {MAX_IMPORT_BYTES} bytes at once")
    text = body.decode("utf-8", errors="replace")
    is_csv = request.headers.get("content-type", "").startswith("text/csv")
    lines = list(csv_lines(text) if is_csv else text.splitlines())

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        report = members.import_members(session, find_list(session, target), lines, role,
                                        actor=scope.actor, force=force)
        return {"added": report.added, "already_members": report.already_members,
                "refused": [{"line": n, "text": t, "reason": why}
                            for n, t, why in report.refused]}

    return await write(request, run)


def csv_lines(text: str) -> Iterator[str]:
    """CSV rows as import lines; a header row naming `address` (or `email`) is skipped."""
    for number, row in enumerate(csv.reader(io.StringIO(text))):
        if not row:
            yield ""
            continue
        if number == 0 and row[0].strip().lower() in ("address", "email", "e-mail"):
            yield ""
            continue
        name = " ".join(cell.strip() for cell in row[1:] if cell.strip())
        yield f"{row[0].strip()} {name}".strip()


@router.get("/lists/{address}/members.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "address,name,role,delivery,status,subscribed_at"}})
async def export_members(request: Request, scope: Scope, address: str) -> StreamingResponse:
    """Every member as CSV, streamed: memory stays flat at any list size."""
    target = list_in_scope(scope, address)
    await read(request, lambda s, r: find_list(s, target).id)
    runtime = runtime_of(request)
    return StreamingResponse(member_export.csv_chunks(runtime, target), media_type="text/csv",
                             headers={"Content-Disposition": 'attachment; filename="members.csv"'})


