"""Which part of listd a recipient address belongs to.

The scheme is parsed in listd.addresses (pure); `resolve_recipient` checks the result against
the database, so an unknown list, a list that is not active and a foreign domain are refused at
RCPT.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.addresses import (  # noqa: F401 (re-exported for the router's callers)
    SUFFIXES,
    TOKEN_KINDS,
    AddressKind,
    Destination,
    InvalidAddress,
    normalize_address,
    parse_local_part,
)
from listd.config import Config
from listd.models import Domain, ListStatus, MailingList

# The scheme itself lives in listd.addresses; these names are its reading for the router.
DestinationKind = AddressKind


@dataclass(frozen=True)
class Route:
    """A recipient accepted at RCPT, and where it goes."""

    address: str
    destination: Destination
    list_id: int | None


@dataclass(frozen=True)
class Refusal:
    code: int
    text: str

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"


def resolve_recipient(session: Session, config: Config, address: str) -> Route | Refusal:
    try:
        normalized = normalize_address(address)
    except InvalidAddress:
        return Refusal(553, f"5.1.3 <{address}>: malformed address")
    local, _, domain = normalized.rpartition("@")
    served = config.serves(domain) or session.scalar(
        select(Domain.id).where(Domain.name == domain)) is not None
    if not served:
        return Refusal(550, f"5.1.1 <{address}>: this server does not handle mail for {domain}")
    destination = parse_local_part(local, domain, config.robot)
    if destination.token is not None and destination.token.startswith("+"):
        return Refusal(550, f"5.1.1 <{address}>: no such list or address here")
    if destination.list_name is None:
        # ROBOT-confirm+TOKEN@ confirms actions that belong to no active list.
        if destination.kind in (DestinationKind.ROBOT, DestinationKind.OWNER,
                                DestinationKind.BOUNCES, DestinationKind.CONFIRM):
            return Route(normalized, destination, None)
        return Refusal(550, f"5.1.1 <{address}>: no such list or address here")
    row = session.execute(
        select(MailingList.id, MailingList.status).join(Domain)
        .where(MailingList.name == destination.list_name, Domain.name == domain)).first()
    if row is None:
        return Refusal(550, f"5.1.1 <{address}>: no such list here")
    list_id, status = row
    if status is not ListStatus.ACTIVE:
        why = "is waiting for approval" if status is ListStatus.PENDING else "is closed"
        return Refusal(550, f"5.1.1 <{address}>: the list {why} and takes no mail")
    return Route(normalized, destination, list_id)
