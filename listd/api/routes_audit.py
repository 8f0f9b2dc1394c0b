"""/audit: who changed what and when, by list, actor and time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from listd import audit
from listd.api import problems
from listd.api.deps import Scope, list_in_scope, read
from listd.api.schemas import AuditPageOut
from listd.errors import NotFound
from listd.lists import find_list
from listd.models import MailingList
from listd.runtime import Runtime

router = APIRouter(responses=problems.documented(401, 403, 404, 422), tags=["audit"])


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


@router.get("/audit", response_model=AuditPageOut)
async def get_audit(request: Request, scope: Scope,
                    list_: Annotated[str | None, Query(alias="list", max_length=320)] = None,
                    actor: Annotated[str | None, Query(max_length=320)] = None,
                    since: dt.datetime | None = None, until: dt.datetime | None = None,
                    cursor: Annotated[int | None, Query(ge=1)] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """Audit entries, newest first. A key scoped to lists sees those lists' entries only."""
    target = list_in_scope(scope, list_) if list_ is not None else None

    def run(session: Session, runtime: Runtime) -> dict[str, Any]:
        if target is not None:
            list_ids: list[int] | None = [find_list(session, target).id]
        elif scope.site_wide:
            list_ids = None
        else:
            list_ids = [find_list(session, a).id for a in sorted(scope.lists)
                        if _exists(session, a)]
        rows = audit.entries(session, list_ids=list_ids, actor=actor, since=_naive_utc(since),
                             until=_naive_utc(until), before_id=cursor, limit=limit)
        names = {m.id: m.address for m in session.query(MailingList).filter(
            MailingList.id.in_({r.list_id for r in rows if r.list_id}))}
        return {"entries": [{"id": r.id, "at": r.at.isoformat(timespec="seconds"),
                             "actor": r.actor, "action": r.action,
                             "list": names.get(r.list_id) if r.list_id else None,
                             "subject": r.subject, "detail": r.detail} for r in rows],
                "next_cursor": rows[-1].id if len(rows) == limit else None}

    return await read(request, run)


def _exists(session: Session, address: str) -> bool:
    try:
        find_list(session, address)
    except NotFound:
        return False
    return True
