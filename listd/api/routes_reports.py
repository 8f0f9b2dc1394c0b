"""/lists/{address}/reports: each post's report, as `listd post ls|report` and the owners'
pages show it. A post is named as there: its outbound id (`delivery.post` in a post's state
from /posts/{id}), or `s` + a send id for a `listd post send` not distributed yet."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.orm import Session

from listd import post_report
from listd.api import problems
from listd.api.deps import Scope, list_in_scope, read
from listd.api.schemas import PostReportOut
from listd.errors import NotFound
from listd.lists import find_list
from listd.runtime import Runtime

router = APIRouter(responses=problems.documented(401, 403, 404, 422), tags=["posts"])
Days = Annotated[int, Query(ge=0, le=3650, description="Count the members who left within "
                                                        "this many days after the post.")]


@router.get("/lists/{address}/reports", response_model=list[PostReportOut])
async def get_reports(request: Request, scope: Scope, address: str,
                      limit: Annotated[int, Query(ge=1, le=500)] = post_report.DEFAULT_LIMIT
                      ) -> list[dict[str, Any]]:
    """The list's posts and digests, newest first, with their headline figures, and the
    sends that are scheduled or were cancelled."""
    target = list_in_scope(scope, address)
    return await read(request, _reports, target, limit)


def _reports(session: Session, runtime: Runtime, target: str, limit: int
             ) -> list[dict[str, Any]]:
    return [r.as_json() for r in post_report.list_posts(session, find_list(session, target),
                                                        limit)]


@router.get("/lists/{address}/reports/{post}", response_model=PostReportOut)
async def get_report(request: Request, scope: Scope, address: str,
                     post: Annotated[str, Path(max_length=24, description="12, or s3")],
                     days: Days = post_report.DEFAULT_UNSUBSCRIBE_DAYS) -> dict[str, Any]:
    """What became of one post: delivered, deferred, failed, bounced (hard, soft, policy),
    complaints, unsubscribes; an A/B pair's other half side by side."""
    target = list_in_scope(scope, address)
    return await read(request, _report, target, post, days)


def _report(session: Session, runtime: Runtime, target: str, post: str, days: int
            ) -> dict[str, Any]:
    mailing_list = find_list(session, target)
    result = post_report.report(session, post_report.resolve(session, post), days)
    if result.list_address != mailing_list.address:
        raise NotFound(f"post: no post {post} on {mailing_list.address}")
    return result.as_json()
