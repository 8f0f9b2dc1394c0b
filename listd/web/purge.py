"""The web door's periodic clean-up: expired sessions and rate-limit counts past their window
(a maintenance job, safe in several processes at once: plain DELETEs by date)."""

from __future__ import annotations

from sqlalchemy import delete

from listd.database import affected_rows
from listd.models import WebSession
from listd.runtime import Runtime
from listd.web import ratelimit


def purge_web_state(runtime: Runtime) -> int:
    now = runtime.clock.now()
    with runtime.db.session() as session:
        sessions = affected_rows(session.execute(
            delete(WebSession).where(WebSession.expires_at <= now)))
        return sessions + ratelimit.purge(session, now)
