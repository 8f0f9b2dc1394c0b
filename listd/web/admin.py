"""/lists/LIST@DOMAIN/admin…: a list's owners manage settings, members, owners and
moderators, bounces; its moderators (and owners) decide held posts. A listmaster may act as an
owner anywhere. Every change goes through the operations with the signed-in address as actor.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import lists, member_export, members, post_report
from listd.bounce import admin as bounce_admin
from listd.errors import NotFound, UserError
from listd.models import HeldMessage, MailingList, Role, StoredMessage
from listd.plain_text import to_plain_text
from listd.posting import moderation
from listd.runtime import Runtime
from listd.web import settings_form
from listd.web.context import (
    SAFE_HEADERS,
    Refused,
    Visitor,
    field,
    form_of,
    page,
    read,
    redirect,
    visitor_of,
    write,
)

router = APIRouter()
PAGE_SIZE = 50
# The members page counts subscribers up to this many, then says "more than": a count of a
# million index entries on every view would cost more than the page itself.
COUNT_CAP = 10_000
MAX_IMPORT_LINES = 100_000
DECISIONS = {"approve": moderation.approve_held, "reject": moderation.reject_held,
             "discard": moderation.discard_held}


@dataclass(frozen=True)
class Access:
    list_address: str
    language: str
    owner: bool


def access(session: Session, visitor: Visitor, list_address: str, need_owner: bool) -> Access:
    """Who the visitor is on the list; a stranger is refused without learning anything."""
    if visitor.address is None:
        raise Refused(401, "Sign in first.")
    mailing_list = lists.find_list(session, list_address)
    roles = _roles(session, mailing_list, visitor.address)
    owner = visitor.is_listmaster or Role.OWNER in roles
    moderator = owner or Role.MODERATOR in roles
    if not moderator or (need_owner and not owner):
        raise Refused(403, "You may not administer this list.")
    return Access(mailing_list.address, mailing_list.language, owner)


def _roles(session: Session, mailing_list: MailingList, address: str) -> set[Role]:
    return {role for role in (Role.OWNER, Role.MODERATOR)
            if members.find_member(session, mailing_list, address, role) is not None}


async def _access(request: Request, address: str, need_owner: bool = True
                  ) -> tuple[Visitor, Access]:
    visitor = await visitor_of(request)
    found = await read(visitor.runtime, lambda s, r: access(s, visitor, address, need_owner))
    return visitor, found


def _page(visitor: Visitor, found: Access, template: str, status: int = 200,
          **context: Any) -> Response:
    return page(visitor, template, status, language=found.language, access=found,
                list_address=found.list_address, **context)


# Settings ----------------------------------------------------------------------------------

@router.get("/lists/{address}/admin")
async def settings_page(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address, need_owner=False)
    if not found.owner:
        return redirect(visitor, f"/lists/{found.list_address}/admin/moderation")
    current = await read(visitor.runtime, lambda s, r: settings_form.current_values(
        lists.find_list(s, found.list_address)))
    return _settings(visitor, found, current, {}, request.query_params.get("done") == "1")


def _settings(visitor: Visitor, found: Access, values: dict[str, str],
              errors: dict[str, str], saved: bool = False, status: int = 200) -> Response:
    return _page(visitor, found, "admin_settings.html", status,
                 fields=settings_form.fields(), values=values, errors=errors, saved=saved)


@router.post("/lists/{address}/admin/settings")
async def save_settings(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    form = await form_of(request, visitor)
    submitted = {f.name: field(form, f.name) for f in settings_form.fields()}
    errors = settings_form.errors_of(submitted)
    if errors:
        return _settings(visitor, found, submitted, errors, status=400)
    actor = visitor.address or ""
    await write(visitor.runtime, _save, found.list_address, submitted, actor)
    return redirect(visitor, f"/lists/{found.list_address}/admin?done=1")


def _save(session: Session, runtime: Runtime, list_address: str, submitted: dict[str, str],
          actor: str) -> None:
    current = settings_form.current_values(lists.find_list(session, list_address))
    for key, value in submitted.items():
        if current.get(key) != value:
            lists.set_list_setting(session, list_address, key,
                                   settings_form.typed(key, value), actor=actor)


# Members -----------------------------------------------------------------------------------

def encode_cursor(after: tuple[str, str] | None) -> str:
    if after is None:
        return ""
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str] | None:
    if not cursor:
        return None
    try:
        address, role = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(address), Role(role).value
    except (ValueError, TypeError):
        raise Refused(400, "This request is not understood. Nothing was changed.") from None


@router.get("/lists/{address}/admin/members")
async def members_page(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    query = request.query_params.get("q", "")[:320]
    after = decode_cursor(request.query_params.get("after", "")[:2000])
    before = decode_cursor(request.query_params.get("before", "")[:2000])
    shown, total = await read(visitor.runtime, _member_page, found.list_address, query, after,
                              before)
    return _members(visitor, found, shown, total, query,
                    done=request.query_params.get("done", ""))


def _members(visitor: Visitor, found: Access, shown: members.MemberPage, total: int,
             query: str, done: str = "", report: members.ImportReport | None = None
             ) -> Response:
    return _page(visitor, found, "admin_members.html", members=shown.members,
                 total=min(total, COUNT_CAP), more_than=total > COUNT_CAP, query=query,
                 next_cursor=encode_cursor(shown.after),
                 previous_cursor=encode_cursor(shown.before), done=done, report=report)


def _member_page(session: Session, runtime: Runtime, list_address: str, query: str,
                 after: tuple[str, str] | None, before: tuple[str, str] | None = None
                 ) -> tuple[members.MemberPage, int]:
    mailing_list = lists.find_list(session, list_address)
    shown = members.page_members(session, mailing_list, limit=PAGE_SIZE, after=after,
                                 before=before, role=Role.SUBSCRIBER, search=query)
    return shown, members.count_role_upto(session, mailing_list, Role.SUBSCRIBER, COUNT_CAP)


@router.post("/lists/{address}/admin/members/add")
async def add_member(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    form = await form_of(request, visitor)
    actor = visitor.address or ""
    await write(visitor.runtime, lambda s, r: members.add_member(
        s, lists.find_list(s, found.list_address), field(form, "address"), field(form, "name"),
        actor=actor))
    return redirect(visitor, f"/lists/{found.list_address}/admin/members?done=added")


@router.post("/lists/{address}/admin/members/remove")
async def remove_member(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    form = await form_of(request, visitor)
    actor = visitor.address or ""
    await write(visitor.runtime, lambda s, r: members.remove_member(
        s, lists.find_list(s, found.list_address), field(form, "address"), actor=actor))
    return redirect(visitor, f"/lists/{found.list_address}/admin/members?done=removed")


@router.post("/lists/{address}/admin/members/import")
async def import_members(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    form = await form_of(request, visitor)
    lines = field(form, "lines").splitlines()[:MAX_IMPORT_LINES]
    actor = visitor.address or ""
    report = await write(visitor.runtime, lambda s, r: members.import_members(
        s, lists.find_list(s, found.list_address), lines, actor=actor))
    shown, total = await read(visitor.runtime, _member_page, found.list_address, "", None)
    return _members(visitor, found, shown, total, "", report=report)


@router.get("/lists/{address}/admin/members.csv")
async def export_members(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    headers = {**SAFE_HEADERS, "Content-Disposition": 'attachment; filename="members.csv"'}
    return StreamingResponse(member_export.csv_chunks(visitor.runtime, found.list_address),
                             media_type="text/csv; charset=utf-8", headers=headers)


# Owners and moderators ---------------------------------------------------------------------

@router.get("/lists/{address}/admin/roles")
async def roles_page(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    owners, moderators = await read(visitor.runtime, lambda s, r: tuple(
        members.addresses_with_role(s, lists.find_list(s, found.list_address), role)
        for role in (Role.OWNER, Role.MODERATOR)))
    return _page(visitor, found, "admin_roles.html", owners=owners, moderators=moderators,
                 error=request.query_params.get("error", ""))


@router.post("/lists/{address}/admin/roles")
async def change_roles(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    form = await form_of(request, visitor)
    try:
        role = Role(field(form, "role"))
    except ValueError:
        raise Refused(400, "This request is not understood. Nothing was changed.") from None
    if role is Role.SUBSCRIBER:
        raise Refused(400, "This request is not understood. Nothing was changed.")
    change = members.add_member if field(form, "action") == "add" else members.remove_member
    actor = visitor.address or ""
    try:
        await write(visitor.runtime, lambda s, r: change(
            s, lists.find_list(s, found.list_address), field(form, "address"), role=role,
            actor=actor))
    except UserError as error:
        owners, moderators = await read(visitor.runtime, lambda s, r: tuple(
            members.addresses_with_role(s, lists.find_list(s, found.list_address), role_)
            for role_ in (Role.OWNER, Role.MODERATOR)))
        return _page(visitor, found, "admin_roles.html", 400, owners=owners,
                     moderators=moderators, error=error.in_language(visitor.language))
    return redirect(visitor, f"/lists/{found.list_address}/admin/roles")


# Moderation --------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeldView:
    id: int
    sender: str
    subject: str
    reason: str
    held_at: str
    text: str
    attachments: tuple[str, ...]


def held_views(session: Session, runtime: Runtime, list_address: str) -> list[HeldView]:
    mailing_list = lists.find_list(session, list_address)
    views = []
    for held in moderation.pending(session, mailing_list):
        raw = session.scalar(select(StoredMessage.raw)
                             .where(StoredMessage.id == held.message_id)) or b""
        shown = to_plain_text(raw)
        views.append(HeldView(held.id, held.sender, held.subject, held.reason,
                              held.held_at.isoformat(sep=" ", timespec="minutes"),
                              shown.as_text(), shown.attachments))
    return views


@router.get("/lists/{address}/admin/moderation")
async def moderation_page(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address, need_owner=False)
    held = await read(visitor.runtime, held_views, found.list_address)
    return _page(visitor, found, "admin_moderation.html", held=held,
                 done=request.query_params.get("done", ""))


@router.post("/lists/{address}/admin/moderation")
async def decide(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address, need_owner=False)
    form = await form_of(request, visitor)
    action = field(form, "action")
    if action not in DECISIONS:
        raise Refused(400, "This request is not understood. Nothing was changed.")
    ids = [int(v) for v in form.getlist("held") if isinstance(v, str) and v.isdigit()]
    actor = visitor.address or ""
    decided = await write(visitor.runtime, _decide, found.list_address, ids, action, actor,
                          field(form, "reason") or None)
    visitor.runtime.signals.mail_queued()
    return redirect(visitor, f"/lists/{found.list_address}/admin/moderation?done={decided}")


def _decide(session: Session, runtime: Runtime, list_address: str, ids: list[int],
            action: str, actor: str, reason: str | None) -> int:
    mailing_list = lists.find_list(session, list_address)
    decided = 0
    for held_id in ids:
        held = session.get(HeldMessage, held_id)
        if held is None or held.list_id != mailing_list.id:
            continue
        try:
            with session.begin_nested():
                DECISIONS[action](session, runtime, held, actor, reason)
            decided += 1
        except moderation.AlreadyDecided:
            continue
    return decided


# Bounces -----------------------------------------------------------------------------------

@router.get("/lists/{address}/admin/bounces")
async def bounces_page(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    bouncing = await read(visitor.runtime, lambda s, r: bounce_admin.bouncing_members(
        s, found.list_address))
    return _page(visitor, found, "admin_bounces.html", bouncing=bouncing,
                 done=request.query_params.get("done", ""))


@router.post("/lists/{address}/admin/bounces/reset")
async def reset_bounces(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    form = await form_of(request, visitor)
    actor = visitor.address or ""
    await write(visitor.runtime, lambda s, r: bounce_admin.reset_member(
        s, found.list_address, field(form, "address"), actor))
    return redirect(visitor, f"/lists/{found.list_address}/admin/bounces?done=1")



# Posts and their reports -------------------------------------------------------------------

@router.get("/lists/{address}/admin/posts")
async def posts_page(request: Request, address: str) -> Response:
    visitor, found = await _access(request, address)
    posts = await read(visitor.runtime, lambda s, r: [p.as_json() for p in post_report.list_posts(
        s, lists.find_list(s, found.list_address))])
    return _page(visitor, found, "admin_posts.html", posts=posts)


@router.get("/lists/{address}/admin/posts/{post}")
async def post_report_page(request: Request, address: str, post: str) -> Response:
    visitor, found = await _access(request, address)
    shown = await read(visitor.runtime, lambda s, r: _report_of(s, found.list_address, post))
    return _page(visitor, found, "admin_post_report.html", report=shown,
                 columns=[shown, *shown["variants"]])


def _report_of(session: Session, list_address: str, post: str) -> dict[str, Any]:
    result = post_report.report(session, post_report.resolve(session, post))
    if result.list_address != list_address:
        raise NotFound(f"post: no post {post} on {list_address}")
    return result.as_json()
