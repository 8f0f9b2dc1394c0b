"""A signed-in person's pages: /my (subscriptions, delivery mode, leave, what waits) and
/request (ask for a new list). The session proves the address, as a confirmation does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from listd import lifecycle, members
from listd.errors import UserError
from listd.list_templates import available_templates
from listd.lists import find_list, set_list_setting
from listd.models import DeliveryMode, Role
from listd.runtime import Runtime
from listd.web import mine, passwords
from listd.web.context import (
    Refused,
    Visitor,
    field,
    form_of,
    page,
    read,
    redirect,
    signed_in,
    visitor_of,
    write,
)

router = APIRouter()


@router.get("/my")
async def my_page(request: Request) -> Response:
    visitor = await visitor_of(request)
    address = signed_in(visitor)
    found, waits = await read(visitor.runtime, lambda s, r: (
        mine.memberships(s, address), mine.waiting(s, r, address)))
    return page(visitor, "my.html", memberships=found, waiting=waits,
                done=request.query_params.get("done", ""))


@router.post("/my/delivery")
async def change_delivery(request: Request) -> Response:
    visitor = await visitor_of(request)
    address = signed_in(visitor)
    form = await form_of(request, visitor)
    try:
        mode = DeliveryMode(field(form, "delivery"))
    except ValueError:
        raise Refused(400, "This delivery mode is not known.") from None
    list_address = field(form, "list")
    await write(visitor.runtime, lambda s, r: members.change_member(
        s, find_list(s, list_address), address, Role.SUBSCRIBER, delivery=mode, actor=address))
    return redirect(visitor, "/my?done=delivery")


@router.post("/my/leave")
async def leave(request: Request) -> Response:
    visitor = await visitor_of(request)
    address = signed_in(visitor)
    form = await form_of(request, visitor)
    list_address = field(form, "list")
    await write(visitor.runtime, lambda s, r: members.remove_member(
        s, find_list(s, list_address), address, Role.SUBSCRIBER, actor=address))
    return redirect(visitor, "/my?done=left")


@router.post("/my/password")
async def choose_password(request: Request) -> Response:
    visitor = await visitor_of(request)
    address = signed_in(visitor)
    form = await form_of(request, visitor)
    chosen = form.get("password")
    if not isinstance(chosen, str) or len(chosen) < passwords.MIN_LENGTH:
        raise Refused(400, "A password needs at least 10 characters.")
    await write(visitor.runtime, lambda s, r: passwords.set_password(s, r, address, chosen))
    return redirect(visitor, "/my?done=password")


@router.get("/request")
async def request_page(request: Request) -> Response:
    visitor = await visitor_of(request)
    address = signed_in(visitor)
    return _request_form(visitor, {"owners": address})


def _request_form(visitor: Visitor, values: dict[str, str], error: str = "",
                  status: int = 200) -> Response:
    runtime = visitor.runtime
    return page(visitor, "request.html", status, values=values, error=error,
                templates=available_templates(runtime.config.list_templates_dir),
                domains=runtime.config.domains)


@router.post("/request")
async def request_list(request: Request) -> Response:
    visitor = await visitor_of(request)
    address = signed_in(visitor)
    form = await form_of(request, visitor)
    values = {k: field(form, k) for k in ("name", "domain", "template", "subject",
                                          "description", "owners")}
    owners = [o for o in values["owners"].replace(",", " ").split() if o]
    try:
        await write(visitor.runtime, _request, values, owners, address)
    except UserError as error:
        return _request_form(visitor, values, error.in_language(visitor.language), 400)
    visitor.runtime.signals.mail_queued()
    return redirect(visitor, "/my?done=requested")


def _request(session: Session, runtime: Runtime, values: dict[str, str], owners: list[str],
             address: str) -> None:
    list_address = f"{values['name'].lower()}@{values['domain'].lower()}"
    created = lifecycle.request_list(session, runtime.config, list_address, owners or [address],
                                     values["template"] or "discussion", values["subject"],
                                     requested_by=address)
    if values["description"]:
        set_list_setting(session, created.address, "description", values["description"],
                         actor=address)
