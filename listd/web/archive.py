"""The archive's web pages: /lists/LIST@DOMAIN/archive, by month, thread and date, one
message per page as text, attachments as downloads, and search.

Access follows the list's `archive` setting with an anonymous reader: until sign-in exists,
a members' or owners' archive is served to the members or owners signed in on the web pages
(as the mail commands INDEX/GET/LAST check the sender). Addresses shown are obfuscated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.addresses import InvalidAddress
from listd.archive import browse
from listd.archive.access import Access, Reader, archive_access
from listd.archive.store import by_number
from listd.archive.text import attachments, display_author, obfuscate
from listd.archive.urls import archive_path
from listd.errors import NotFound
from listd.lists import find_list
from listd.models import ListStatus, MailingList, Member, Role
from listd.runtime import Runtime
from listd.settings import ListSettings
from listd.templates import TEMPLATE_DIR
from listd.web.context import visitor_of

HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; form-action 'self'",
}
STATUS = {Access.NO_ARCHIVE: 404, Access.MEMBERS_ONLY: 403, Access.OWNERS_ONLY: 403}
REFUSALS = {Access.NO_ARCHIVE: "This list keeps no archive.",
            Access.MEMBERS_ONLY: "This archive is open to the list's members only.",
            Access.OWNERS_ONLY: "This archive is open to the list's owners only."}

_environment = Environment(loader=FileSystemLoader(TEMPLATE_DIR / "web"),
                           autoescape=select_autoescape(default=True, default_for_string=True))
_environment.filters["obfuscate"] = lambda value: obfuscate(str(value))


@dataclass(frozen=True)
class Answer:
    """A page to show, or a refusal (status and text)."""

    status: int
    template: str = ""
    values: dict[str, Any] | None = None
    download: tuple[bytes, str, str] | None = None


def render(template: str, **values: Any) -> str:
    return _environment.get_template(template).render(**values)


def _reader(session: Session, mailing_list: MailingList, address: str | None) -> Reader:
    """Who the signed-in ADDRESS is to the list (anyone when nobody is signed in)."""
    if address is None:
        return Reader.ANYONE
    roles = set(session.scalars(select(Member.role).where(Member.list_id == mailing_list.id,
                                                          Member.address == address)))
    if Role.OWNER in roles:
        return Reader.OWNER
    return Reader.MEMBER if roles else Reader.ANYONE


def _open(session: Session, reader: str | None, address: str) -> MailingList | Answer:
    try:
        mailing_list = find_list(session, address)
    except (NotFound, InvalidAddress):
        return Answer(404, values={"text": "There is no such list."})
    if mailing_list.status is not ListStatus.ACTIVE:
        return Answer(404, values={"text": "There is no such list."})
    access = archive_access(ListSettings.of(mailing_list).archive,
                            _reader(session, mailing_list, reader))
    if access is not Access.GRANTED:
        return Answer(STATUS[access], values={"text": REFUSALS[access]})
    return mailing_list


def _common(mailing_list: MailingList, **values: Any) -> dict[str, Any]:
    return {"list_address": mailing_list.address,
            "archive_path": archive_path(mailing_list.address), **values}


def index_page(session: Session, reader: str | None, address: str) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    return Answer(200, "archive_index.html", _common(
        opened, title=f"{opened.address} archive", months=browse.months(session, opened)))


def month_page(session: Session, reader: str | None, address: str, month: str,
               by_thread: bool) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    if browse.month_bounds(month) is None:
        return Answer(404, values={"text": "There is no such month."})
    messages = browse.in_month(session, opened, month)
    groups = browse.threads(messages) if by_thread else [[(0, m) for m in messages]]
    heading = f"{opened.address}, {month}, by {'thread' if by_thread else 'date'}"
    return Answer(200, "archive_list.html", _common(opened, title=heading, heading=heading,
                                                    groups=groups))


def search_page(session: Session, reader: str | None, address: str, query: str) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    results = browse.found(session, opened, query)
    heading = f"{len(results)} messages found for “{query}”"
    return Answer(200, "archive_list.html", _common(
        opened, title=heading, heading=heading, query=query,
        groups=[[(0, m) for m in results]] if results else []))


def message_page(session: Session, reader: str | None, address: str, number: int) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    try:
        row = by_number(session, opened, number)
    except NotFound:
        return Answer(404, values={"text": "There is no such message."})
    parent = None
    if row.in_reply_to:
        parent = next((s for s in browse.in_month(session, opened, row.date.strftime("%Y-%m"))
                       if s.message_id == row.in_reply_to), None)
    return Answer(200, "archive_message.html", _common(
        opened, title=row.subject or "(no subject)", message=row, parent=parent,
        author=display_author(row.author_name, row.author_address),
        attachments=attachments(row.raw)))


def attachment_download(session: Session, reader: str | None, address: str, number: int,
                        index: int) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    try:
        row = by_number(session, opened, number)
    except NotFound:
        return Answer(404, values={"text": "There is no such message."})
    found = attachments(row.raw)
    if not 1 <= index <= len(found):
        return Answer(404, values={"text": "There is no such attachment."})
    item = found[index - 1]
    return Answer(200, download=(item.content, item.content_type, item.filename))


def _respond(answer: Answer) -> Response:
    if answer.download is not None:
        content, ctype, filename = answer.download
        return Response(content, media_type=ctype, headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
    values = answer.values or {}
    if not answer.template:
        page = render("archive_error.html", title=values["text"], text=values["text"],
                      list_address="", archive_path="")
        return HTMLResponse(page, status_code=answer.status, headers=HEADERS)
    return HTMLResponse(render(answer.template, **values), status_code=answer.status,
                        headers=HEADERS)


def add_archive_routes(app: FastAPI, runtime: Runtime) -> None:
    async def answer(request: Request, fn: Any, *args: Any) -> Response:
        # The signed-in address (web sessions) decides members' and owners' archives.
        reader = (await visitor_of(request)).address

        def work() -> Answer:
            with runtime.db.reading() as session:
                return fn(session, reader, *args)  # type: ignore[no-any-return]
        return _respond(await runtime.db.run_read(work))

    @app.get("/lists/{address}/archive")
    async def archive_index(request: Request, address: str) -> Response:
        return await answer(request, index_page, address)

    @app.get("/lists/{address}/archive/search")
    async def archive_search(request: Request, address: str, q: str = "") -> Response:
        return await answer(request, search_page, address, q[:200])

    @app.get("/lists/{address}/archive/{month}/thread")
    async def archive_by_thread(request: Request, address: str, month: str) -> Response:
        return await answer(request, month_page, address, month, True)

    @app.get("/lists/{address}/archive/{month}/date")
    async def archive_by_date(request: Request, address: str, month: str) -> Response:
        return await answer(request, month_page, address, month, False)

    @app.get("/lists/{address}/archive/{number}")
    async def archive_message(request: Request, address: str, number: int) -> Response:
        return await answer(request, message_page, address, number)

    @app.get("/lists/{address}/archive/{number}/attachments/{index}")
    async def archive_attachment(request: Request, address: str, number: int,
                                 index: int) -> Response:
        return await answer(request, attachment_download, address, number, index)
