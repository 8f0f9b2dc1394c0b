"""`/r/TOKEN`: a tracked link of a post (list setting `tracking`) — count the click, redirect.

Only a token listd signed redirects (tracking/tokens.py): anything else answers 404 with a page
of ours, never a redirect, so listd is no open redirect. A click that cannot be counted (the
database busy, the post purged) still reaches its page: the reader matters more than the count.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from listd.runtime import Runtime
from listd.tracking.clicks import record_click
from listd.tracking.tokens import PATH, Link, LinkTokens
from listd.web import pages
from listd.web.context import SAFE_HEADERS, runtime_of

log = logging.getLogger("listd.web")
router = APIRouter()


@router.get(PATH + "{token}")
async def tracked_link(request: Request, token: str) -> Response:
    runtime = runtime_of(request)
    link = LinkTokens(runtime.secret).verify(token)
    if link is None:
        return HTMLResponse(pages.message_page(runtime.config.language, "invalid"),
                            status_code=404, headers=SAFE_HEADERS)
    try:
        await runtime.db.run(_count, runtime, link)
    except Exception:
        log.exception("post=%d link=%d: click not counted", link.post, link.link)
    return RedirectResponse(link.url, status_code=302,
                            headers={"Cache-Control": "no-store",
                                     "Referrer-Policy": "no-referrer"})


def _count(runtime: Runtime, link: Link) -> None:
    with runtime.db.session() as session:
        record_click(session, link, runtime.clock.now())
