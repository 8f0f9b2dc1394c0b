"""The SMTP and LMTP listener: it validates, stores and answers; all policy lives elsewhere."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from listd.config import Config
from listd.database import Database
from listd.smtp_in import limits
from listd.smtp_in.routing import Refusal, Route, resolve_recipient
from listd.smtp_in.spool import Envelope as StoredEnvelope
from listd.smtp_in.spool import GroupCommitter

log = logging.getLogger("listd.smtp_in")

# aiosmtpd's own replies, given RFC 3463 enhanced codes and texts a sender can act on. One table,
# as Postfix keeps one, so every answer the listener gives is decided here or in the handler.
REPLIES = {
    "552 Error: Too much mail data": "552 5.3.4 Message too big for this list server",
    "552 Error: message size exceeds fixed maximum message size":
        "552 5.3.4 Message too big for this list server",
    "500 Line too long (see RFC5321 4.5.3.1.6)":
        "500 5.5.2 Line too long (RFC 5321 allows 1000 bytes a line)",
    "500 Command line too long": "500 5.5.2 Command line too long",
    "500 Error: bad syntax": "500 5.5.2 Syntax error",
    "503 Error: need MAIL command": "503 5.5.1 Need MAIL command first",
    "503 Error: need RCPT command": "503 5.5.1 Need RCPT command first",
    "503 Error: nested MAIL command": "503 5.5.1 Nested MAIL command",
}
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure in listd; please try again later"


# LHLO/EHLO advertise ENHANCEDSTATUSCODES (RFC 2034), so every other reply of aiosmtpd's own
# that lacks one gets the RFC 3463 code for its class.
_ENHANCED_DEFAULTS = {"221": "2.0.0", "252": "2.5.0", "421": "4.3.2", "454": "4.7.0",
                      "500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1",
                      "504": "5.5.4", "530": "5.7.0", "552": "5.3.4", "553": "5.1.3",
                      "554": "5.7.1", "555": "5.5.4"}
_HAS_ENHANCED = re.compile(r"\d{3}[ -][245]\.\d{1,3}\.\d{1,3}\b")
EXTENSIONS = ("250-PIPELINING", "250-ENHANCEDSTATUSCODES")


def _reply(status: AnyStr) -> AnyStr:
    if not isinstance(status, str):
        return status
    status = REPLIES.get(status, status)
    if status == "250 OK":
        return "250 2.0.0 Ok"
    code = _ENHANCED_DEFAULTS.get(status[:3])
    if code is None or status[3:4] != " " or _HAS_ENHANCED.match(status):
        return status
    return f"{status[:4]}{code} {status[4:]}"


class ListdSMTP(SMTP):
    async def push(self, status: AnyStr) -> None:
        await super().push(_reply(status))


class ListdLMTP(LMTP):
    async def push(self, status: AnyStr) -> None:
        await super().push(_reply(status))


def _routes(envelope: Envelope) -> list[Route]:
    routes: list[Route] | None = getattr(envelope, "listd_routes", None)
    if routes is None:
        routes = []
        envelope.listd_routes = routes  # type: ignore[attr-defined]
    return routes


class InboundHandler:
    """aiosmtpd's hooks: refuse at RCPT what listd cannot take, store before answering 250."""

    def __init__(self, config: Config, db: Database, on_stored: Callable[[], None],
                 lmtp: bool) -> None:
        self.config = config
        self.db = db
        self.on_stored = on_stored
        self.lmtp = lmtp
        self.spool = GroupCommitter(db)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        """EHLO and LHLO: what listd does (PIPELINING, enhanced codes), not an AUTH it lacks."""
        session.host_name = hostname
        kept = [r for r in responses if not r.startswith("250-AUTH")]
        return [*kept[:-1], *EXTENSIONS, kept[-1]]

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        routes = _routes(envelope)
        if len(envelope.rcpt_tos) >= self.config.smtp_in.max_recipients:
            return "452 4.5.3 Too many recipients"
        result = await self.db.run_read(self._resolve, address)
        if isinstance(result, Refusal):
            log.info("refused sender=<%s> rcpt=<%s> peer=%s: %s", envelope.mail_from, address,
                     _peer(session), result.reply)
            return result.reply
        routes.append(result)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient ok"

    def _resolve(self, address: str) -> Route | Refusal:
        with self.db.reading() as session:
            return resolve_recipient(session, self.config, address)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        routes = _routes(envelope)
        raw = envelope.original_content or b""
        # In a thread: a pass over 10 MB of lines takes a tenth of a second, other sessions go on.
        refused = await asyncio.to_thread(limits.refusal, raw, self.config.smtp_in)
        if refused is not None:
            log.info("refused sender=<%s> rcpts=%s peer=%s size=%d: %s", envelope.mail_from,
                     [r.address for r in routes], _peer(session), len(raw), refused)
            return self._each(routes, refused)
        # aiosmtpd reports the null reverse-path as "<>"; listd keeps it as "".
        sender = "" if envelope.mail_from in (None, "<>") else envelope.mail_from
        stored = StoredEnvelope(sender=sender, routes=list(routes),
                                peer=_peer(session))
        try:
            ids = await self.spool.store(raw, stored)
        except Exception:
            log.exception("could not store a message from <%s> for %s", stored.sender,
                          [r.address for r in routes])
            return self._each(routes, TEMPORARY_FAILURE)
        self.on_stored()
        for queue_id, route in zip(ids, routes, strict=True):
            log.info("accepted queue_id=%d sender=<%s> rcpt=<%s> size=%d peer=%s", queue_id,
                     stored.sender, route.address, len(raw), stored.peer)
        if self.lmtp:
            return "\r\n".join(f"250 2.0.0 <{r.address}> queued as {queue_id}"
                               for queue_id, r in zip(ids, routes, strict=True))
        return f"250 2.0.0 Ok: queued as {ids[0]}"

    def _each(self, routes: list[Route], reply: str) -> str:
        # LMTP answers once per recipient after DATA, even when all answers are the same.
        return "\r\n".join(reply for _ in routes) if self.lmtp and routes else reply

    async def handle_exception(self, error: Exception) -> str:
        log.error("listener error: %r", error, exc_info=error)
        return TEMPORARY_FAILURE


def _peer(session: Session) -> str:
    peer: Any = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


async def start_listener(config: Config, db: Database,
                         on_stored: Callable[[], None]) -> asyncio.Server:
    """Listen on the configured address in the running loop (not aiosmtpd's threaded Controller)."""
    settings = config.smtp_in
    handler = InboundHandler(config, db, on_stored, settings.lmtp)
    protocol = ListdLMTP if settings.lmtp else ListdSMTP
    hostname = config.domains[0] if config.domains else "localhost"

    def factory() -> SMTP:
        return protocol(handler, data_size_limit=settings.max_message_size,
                        enable_SMTPUTF8=True, decode_data=False, hostname=hostname,
                        ident="listd LMTP" if settings.lmtp else "listd ESMTP",
                        timeout=settings.timeout)

    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, host=settings.host, port=settings.port)
