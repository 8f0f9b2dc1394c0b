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
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.addresses import InvalidAddress
from listd.archive import browse
from listd.archive.access import Access, Reader, archive_access
from listd.archive.store import by_number
from listd.archive.text import attachments, display_author
from listd.archive.urls import archive_path
from listd.errors import NotFound
from listd.i18n import N_, translate, translate_plural
from listd.lists import find_list
from listd.models import ListStatus, MailingList, Member, Role
from listd.runtime import Runtime
from listd.settings import ListSettings
from listd.web.context import SAFE_HEADERS, Visitor, page, visitor_of

STATUS = {Access.NO_ARCHIVE: 404, Access.MEMBERS_ONLY: 403, Access.OWNERS_ONLY: 403}
REFUSALS = {Access.NO_ARCHIVE: N_("This list keeps no archive."),
            Access.MEMBERS_ONLY: N_("This archive is open to the list's members only."),
            Access.OWNERS_ONLY: N_("This archive is open to the list's owners only.")}
NO_LIST = N_("There is no such list.")
NO_MONTH = N_("There is no such month.")
NO_MESSAGE = N_("There is no such message.")
NO_ATTACHMENT = N_("There is no such attachment.")
BY_THREAD = N_("{list}, {month}, by thread")
BY_DATE = N_("{list}, {month}, by date")


@dataclass(frozen=True)
class Answer:
    """A page to show (in its list's language), or a refusal (status and text)."""

    status: int
    template: str = ""
    values: dict[str, Any] | None = None
    download: tuple[bytes, str, str] | None = None
    language: str | None = None


def _refusal(status: int, text: str, mailing_list: MailingList | None = None) -> Answer:
    return Answer(status, values={"text": text},
                  language=mailing_list.language if mailing_list is not None else None)


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
        return _refusal(404, NO_LIST)
    if mailing_list.status is not ListStatus.ACTIVE:
        return _refusal(404, NO_LIST)
    access = archive_access(ListSettings.of(mailing_list).archive,
                            _reader(session, mailing_list, reader))
    if access is not Access.GRANTED:
        return _refusal(STATUS[access], REFUSALS[access], mailing_list)
    return mailing_list


def _shown(mailing_list: MailingList, template: str, **values: Any) -> Answer:
    return Answer(200, template, {"list_address": mailing_list.address,
                                  "archive_path": archive_path(mailing_list.address), **values},
                  language=mailing_list.language)


def index_page(session: Session, reader: str | None, address: str) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    return _shown(opened, "archive_index.html",
                  title=translate(opened.language, "{list} archive", list=opened.address),
                  months=browse.months(session, opened))


def month_page(session: Session, reader: str | None, address: str, month: str,
               by_thread: bool) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    if browse.month_bounds(month) is None:
        return _refusal(404, NO_MONTH, opened)
    messages = browse.in_month(session, opened, month)
    groups = browse.threads(messages) if by_thread else [[(0, m) for m in messages]]
    heading = BY_THREAD if by_thread else BY_DATE
    heading = translate(opened.language, heading, list=opened.address, month=month)
    return _shown(opened, "archive_list.html", title=heading, groups=groups)


def search_page(session: Session, reader: str | None, address: str, query: str) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    results = browse.found(session, opened, query)
    heading = translate_plural(opened.language, "{count} message found for “{query}”",
                               "{count} messages found for “{query}”", len(results),
                               query=query)
    return _shown(opened, "archive_list.html", title=heading, query=query,
                  groups=[[(0, m) for m in results]] if results else [])


def message_page(session: Session, reader: str | None, address: str, number: int) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    try:
        row = by_number(session, opened, number)
    except NotFound:
        return _refusal(404, NO_MESSAGE, opened)
    parent = None
    if row.in_reply_to:
        parent = next((s for s in browse.in_month(session, opened, row.date.strftime("%Y-%m"))
                       if s.message_id == row.in_reply_to), None)
    return _shown(opened, "archive_message.html",
                  title=row.subject or translate(opened.language, "(no subject)"),
                  message=row, parent=parent,
                  author=display_author(row.author_name, row.author_address),
                  attachments=attachments(row.raw))


def attachment_download(session: Session, reader: str | None, address: str, number: int,
                        index: int) -> Answer:
    opened = _open(session, reader, address)
    if isinstance(opened, Answer):
        return opened
    try:
        row = by_number(session, opened, number)
    except NotFound:
        return _refusal(404, NO_MESSAGE, opened)
    found = attachments(row.raw)
    if not 1 <= index <= len(found):
        return _refusal(404, NO_ATTACHMENT, opened)
    item = found[index - 1]
    return Answer(200, download=(item.content, item.content_type, item.filename))


def _respond(answer: Answer, visitor: Visitor) -> Response:
    if answer.download is not None:
        content, ctype, filename = answer.download
        return Response(content, media_type=ctype, headers={
            **SAFE_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})
    values = answer.values or {}
    if not answer.template:
        language = answer.language or visitor.language
        return page(visitor, "archive_error.html", answer.status, language=language,
                    title=translate(language, values["text"]), text=values["text"])
    return page(visitor, answer.template, answer.status, language=answer.language, **values)


def add_archive_routes(app: FastAPI, runtime: Runtime) -> None:
    async def answer(request: Request, fn: Any, *args: Any) -> Response:
        # The signed-in address (web sessions) decides members' and owners' archives.
        visitor = await visitor_of(request)

        def work() -> Answer:
            with runtime.db.reading() as session:
                return fn(session, visitor.address, *args)  # type: ignore[no-any-return]
        return _respond(await runtime.db.run_read(work), visitor)

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
