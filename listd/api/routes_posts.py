"""/lists/{address}/posts: send a post as one of the list's owners, and follow it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from listd.api import idempotency, problems
from listd.api.deps import Scope, list_in_scope, read, runtime_of, write
from listd.api.idempotency import Remembered
from listd.api.keys import KeyScope
from listd.api.schemas import PostIn, PostOut
from listd.lists import find_list
from listd.runtime import Runtime
from listd.submission import Draft, post_state, submit_post

router = APIRouter(responses=problems.documented(401, 403, 404, 409, 422), tags=["posts"])
IdempotencyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=idempotency.MAX_KEY_LENGTH,
    description="Any unique text; a retry with the same key and body sends nothing again "
                "and gets the first answer.")]


@router.post("/lists/{address}/posts", response_model=PostOut, status_code=202)
async def post_post(request: Request, scope: Scope, address: str, body: PostIn,
                    idempotency_key: IdempotencyHeader = None) -> JSONResponse:
    """Send a post to the list as one of its owners: it goes through the list's rules,
    moderation and distribution like a post by mail. Follow it at its `id`."""
    target = list_in_scope(scope, address)
    key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    digest = idempotency.request_hash("POST", target, await request.body())
    draft = Draft(body.from_, body.subject, body.text, body.html)
    try:
        answer = await write(request, _submit, scope, target, draft, key, digest)
    except IntegrityError:
        # The same key, at the same moment, in another request: its answer is the one.
        answer = await write(request, _submit, scope, target, draft, key, digest)
    runtime_of(request).signals.inbound.set()
    return JSONResponse(answer.response, status_code=answer.status)


def _submit(session: Session, runtime: Runtime, scope: KeyScope, target: str, draft: Draft,
            key: str | None, digest: str) -> Remembered:
    if key is not None:
        earlier = idempotency.replay(session, scope.name, key, digest)
        if earlier is not None:
            return earlier
    mailing_list = find_list(session, target)
    inbound_id = submit_post(session, runtime.config, mailing_list, draft, scope.actor)
    answer = Remembered(202, post_state(session, mailing_list, inbound_id))
    if key is not None:
        idempotency.remember(session, scope.name, key, digest, answer)
    return answer


@router.get("/lists/{address}/posts/{post_id}", response_model=PostOut)
async def get_post(request: Request, scope: Scope, address: str, post_id: int
                   ) -> dict[str, Any]:
    """Where a post stands: being processed, held (and why), or its delivery counts."""
    target = list_in_scope(scope, address)
    return await read(request, lambda s, r: post_state(s, find_list(s, target), post_id))
