"""/listmaster: the pending list requests (approve, or refuse with a reason the requester
receives), and every list with its status, owners and member count (close, reopen)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import lifecycle, lists
from listd.models import Domain, ListStatus, MailingList, Member, Role
from listd.runtime import Runtime
from listd.web import directory
from listd.web.context import (
    Refused,
    Visitor,
    field,
    form_of,
    page,
    read,
    redirect,
    visitor_of,
)
from listd.web.context import write as write_db

router = APIRouter()


@dataclass(frozen=True)
class ListRow:
    address: str
    status: str
    template: str
    subject: str
    description: str
    requested_by: str
    created_at: str
    owners: list[str]
    members: int


def _listmaster(visitor: Visitor) -> str:
    if visitor.address is None:
        raise Refused(401, "Sign in first.")
    if not visitor.is_listmaster:
        raise Refused(403, "Only a listmaster may open this page.")
    return visitor.address


def all_rows(session: Session, runtime: Runtime) -> list[ListRow]:
    owners: dict[int, list[str]] = {}
    for list_id, address in session.execute(select(Member.list_id, Member.address).where(
            Member.role == Role.OWNER).order_by(Member.address)):
        owners.setdefault(list_id, []).append(address)
    counts = directory.member_counts(session)
    return [ListRow(m.address, m.status.value, m.template, m.subject, m.description,
                    m.requested_by or "", m.created_at.isoformat(sep=" ", timespec="minutes"),
                    owners.get(m.id, []), counts.get(m.id, 0))
            for m in session.scalars(select(MailingList).join(Domain)
                                     .order_by(Domain.name, MailingList.name))]


@router.get("/listmaster")
async def listmaster_page(request: Request) -> Response:
    visitor = await visitor_of(request)
    _listmaster(visitor)
    rows = await read(visitor.runtime, all_rows)
    pending = [r for r in rows if r.status == ListStatus.PENDING.value]
    return page(visitor, "listmaster.html", pending=pending, rows=rows,
                done=request.query_params.get("done", ""))


@router.post("/listmaster/decide")
async def decide(request: Request) -> Response:
    visitor = await visitor_of(request)
    actor = _listmaster(visitor)
    form = await form_of(request, visitor)
    address, decision, reason = field(form, "list"), field(form, "decision"), field(form, "reason")
    config = visitor.runtime.config
    if decision == "approve":
        await write_db(visitor.runtime, lambda s, r: lifecycle.approve_list_request(
            s, config, address, actor))
    elif decision == "refuse":
        await write_db(visitor.runtime, lambda s, r: lifecycle.reject_list_request(
            s, config, address, actor, reason or None))
    else:
        raise Refused(400, "This request is not understood. Nothing was changed.")
    visitor.runtime.signals.mail_queued()
    return redirect(visitor, f"/listmaster?done={decision}")


@router.post("/listmaster/status")
async def change_status(request: Request) -> Response:
    visitor = await visitor_of(request)
    actor = _listmaster(visitor)
    form = await form_of(request, visitor)
    address, action = field(form, "list"), field(form, "action")
    transitions = {"close": lists.close_list, "reopen": lists.reopen_list}
    if action not in transitions:
        raise Refused(400, "This request is not understood. Nothing was changed.")
    await write_db(visitor.runtime, lambda s, r: transitions[action](s, address, actor))
    return redirect(visitor, f"/listmaster?done={action}")
