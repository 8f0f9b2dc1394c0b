"""Durable acceptance: a received message is committed before the client hears 250."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy.orm import Session

from listd.database import Database
from listd.models import InboundMessage, StoredMessage
from listd.smtp_in.routing import Route

_HEADER_PARSER = BytesHeaderParser(policy=compat32)


@dataclass(frozen=True)
class Envelope:
    sender: str
    routes: Sequence[Route]
    peer: str


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID header, if any; read from the header block only, tolerating any bytes."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    headers = _HEADER_PARSER.parsebytes(raw[: end if end >= 0 else len(raw)])
    value = headers.get("Message-ID")
    if value is None:
        return None
    return str(value).strip()[:998] or None


def store_inbound(session: Session, raw: bytes, envelope: Envelope) -> list[int]:
    """Keep the raw bytes once and one queue row per recipient; return the rows' ids."""
    stored = StoredMessage(raw=raw, message_id=message_id_of(raw), size=len(raw))
    session.add(stored)
    session.flush()
    rows = [InboundMessage(message_id=stored.id, envelope_sender=envelope.sender,
                           recipient=route.address, destination=route.destination.kind.value,
                           list_id=route.list_id, peer=envelope.peer)
            for route in envelope.routes]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


class GroupCommitter:
    """Commits messages from concurrent sessions together: one transaction for all that wait.

    While one commit is being made, the messages that arrive queue up and go in the next, so
    under load the cost of a commit is shared, and each client still hears 250 only after its
    message is in a committed transaction.
    """

    MAX_BATCH_MESSAGES = 200
    MAX_BATCH_BYTES = 32 * 1024 * 1024

    def __init__(self, db: Database) -> None:
        self.db = db
        self.waiting: list[tuple[bytes, Envelope, asyncio.Future[list[int]]]] = []
        self.draining: asyncio.Task[None] | None = None

    async def store(self, raw: bytes, envelope: Envelope) -> list[int]:
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self.waiting.append((raw, envelope, future))
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())
        return await future

    def _take_batch(self) -> list[tuple[bytes, Envelope, asyncio.Future[list[int]]]]:
        size = 0
        count = 0
        for raw, _, _ in self.waiting:
            if count and (count >= self.MAX_BATCH_MESSAGES
                          or size + len(raw) > self.MAX_BATCH_BYTES):
                break
            size += len(raw)
            count += 1
        batch, self.waiting = self.waiting[:count], self.waiting[count:]
        return batch

    async def _drain(self) -> None:
        while self.waiting:
            batch = self._take_batch()
            try:
                ids = await self.db.run(self._store_batch, [(raw, env) for raw, env, _ in batch])
            except Exception as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), message_ids in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(message_ids)

    def _store_batch(self, items: list[tuple[bytes, Envelope]]) -> list[list[int]]:
        with self.db.session() as session:
            return [store_inbound(session, raw, envelope) for raw, envelope in items]
