"""/lists/{address}/held: posts waiting for a moderator, shown as text, and decisions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.api import problems
from listd.api.deps import Scope, list_in_scope, read, runtime_of, write
from listd.api.schemas import Decision, DecisionOut, HeldDetail, HeldOut
from listd.errors import NotFound
from listd.lists import find_list
from listd.models import HeldMessage, MailingList, StoredMessage
from listd.plain_text import to_plain_text
from listd.posting import moderation
from listd.runtime import Runtime

router = APIRouter(responses=problems.documented(401, 403, 404, 409, 422), tags=["moderation"])

DECISIONS = {"approve": moderation.approve_held, "reject": moderation.reject_held,
             "discard": moderation.discard_held}


@router.get("/lists/{address}/held", response_model=list[HeldOut])
async def get_held(request: Request, scope: Scope, address: str) -> list[dict[str, Any]]:
    """The posts of this list that wait for a decision, oldest first."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> list[dict[str, Any]]:
        mailing_list = find_list(session, target)
        return [moderation.describe_held(h, mailing_list)
                for h in moderation.pending(session, mailing_list)]

    return await read(request, run)


def _held_of(session: Session, mailing_list: MailingList, held_id: int) -> HeldMessage:
    held = session.get(HeldMessage, held_id)
    if held is None or held.list_id != mailing_list.id:
        raise NotFound(f"no held post {held_id} on {mailing_list.address}")
    return held


@router.get("/lists/{address}/held/{held_id}", response_model=HeldDetail)
async def get_held_post(request: Request, scope: Scope, address: str,
                        held_id: int) -> dict[str, Any]:
    """One held post as text (HTML turned into text, attachments only named)."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        mailing_list = find_list(session, target)
        held = _held_of(session, mailing_list, held_id)
        raw = session.scalar(select(StoredMessage.raw)
                             .where(StoredMessage.id == held.message_id)) or b""
        shown = to_plain_text(raw)
        return {**moderation.describe_held(held, mailing_list), "text": shown.as_text(),
                "attachments": list(shown.attachments)}

    return await read(request, run)


@router.post("/lists/{address}/held/{held_id}/decision", response_model=DecisionOut)
async def decide(request: Request, scope: Scope, address: str, held_id: int,
                 body: Decision) -> dict[str, Any]:
    """Approve (distribute), reject (the poster gets the reason) or discard a held post.
    A post is decided once; a second decision gets 409 naming the first."""
    target = list_in_scope(scope, address)

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        held = _held_of(session, find_list(session, target), held_id)
        decided = DECISIONS[body.action](session, runtime, held, scope.actor, body.reason)
        return {"id": decided.held_id, "state": decided.state.value}

    result = await write(request, run)
    runtime_of(request).signals.mail_queued()
    return result
