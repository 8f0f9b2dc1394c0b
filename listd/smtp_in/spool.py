"""Durable acceptance: a received message is committed before the client hears 250."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy.orm import Session

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
