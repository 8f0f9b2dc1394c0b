"""Idempotency-Key: a retried request gets the first answer again instead of acting twice."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.api import problems
from listd.models import IdempotentRequest

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Remembered:
    status: int
    response: dict[str, Any]


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def check_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise problems.invalid("Idempotency-Key",
                               f"give 1 to {MAX_KEY_LENGTH} characters")
    return key


def replay(session: Session, key_name: str, idempotency_key: str, digest: str
           ) -> Remembered | None:
    """The answer already given to this key, or None; refused when it was another request."""
    row = session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.key_name == key_name,
        IdempotentRequest.idempotency_key == idempotency_key))
    if row is None:
        return None
    if row.request_hash != digest:
        raise problems.ApiProblem(
            422, "idempotency-key-reused", "Idempotency key reused",
            "this Idempotency-Key was used for a different request", "Idempotency-Key")
    return Remembered(row.status, dict(row.response))


def remember(session: Session, key_name: str, idempotency_key: str, digest: str,
             answer: Remembered) -> None:
    session.add(IdempotentRequest(key_name=key_name, idempotency_key=idempotency_key,
                                  request_hash=digest, status=answer.status,
                                  response=answer.response))
    session.flush()
