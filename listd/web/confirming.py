"""/confirm/TOKEN: the web side of a mailed subscription or unsubscription confirmation.

GET shows what the token would do and a button; only the POST confirms, through the same
`confirmations.confirm` as a reply by mail. Only actions whose token was mailed to the very
address it acts on are confirmed here (opening the mail proves that mailbox); the others
(owners' ADD/DEL, list approvals) check who answers, and are answered by mail."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import confirmations, tokens
from listd.commands.membership import SUBSCRIBE, UNSUBSCRIBE
from listd.models import MailingList, PendingAction
from listd.runtime import Runtime
from listd.web.context import Refused, form_of, page, read, visitor_of, write

router = APIRouter()
WEB_CONFIRMABLE = (SUBSCRIBE, UNSUBSCRIBE)
INVALID = ("This confirmation link is not valid any more (used, expired or unknown). "
           "Nothing was changed.")


@dataclass(frozen=True)
class Pending:
    action: str
    address: str
    list_address: str
    language: str


def pending_of(session: Session, runtime: Runtime, token: str) -> Pending | None:
    token = token.strip().lower()
    found = session.scalar(select(PendingAction).where(PendingAction.token == token)) \
        if tokens.looks_like_token(token) else None
    if found is None or found.action not in WEB_CONFIRMABLE or found.used_at is not None \
            or found.expires_at <= runtime.clock.now() or found.list_id is None:
        return None
    mailing_list = session.get(MailingList, found.list_id)
    if mailing_list is None:
        return None
    return Pending(found.action, found.address, mailing_list.address, mailing_list.language)


@router.get("/confirm/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    visitor = await visitor_of(request)
    pending = await read(visitor.runtime, pending_of, token)
    if pending is None:
        raise Refused(404, INVALID)
    return page(visitor, "confirm.html", language=pending.language, pending=pending,
                token=token)


@router.post("/confirm/{token}")
async def confirm_now(request: Request, token: str) -> Response:
    visitor = await visitor_of(request)
    await form_of(request, visitor)
    outcome = await write(visitor.runtime, _confirm, token)
    if outcome is None:
        raise Refused(404, INVALID)
    visitor.runtime.signals.mail_queued()
    text, language = outcome
    return page(visitor, "confirmed.html", language=language, text=text)


def _confirm(session: Session, runtime: Runtime, token: str) -> tuple[str, str] | None:
    pending = pending_of(session, runtime, token)
    if pending is None:
        return None
    result = confirmations.confirm(session, runtime, token,
                                   confirmations.Answering(pending.address, in_person=True),
                                   pending.language)
    return result.text, pending.language
