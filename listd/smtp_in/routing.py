"""The address scheme: which part of listd a recipient address belongs to.

`parse_local_part` is pure; `resolve_recipient` checks the result against the database, so an
unknown list, a list that is not active and a foreign domain are refused at RCPT.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.addresses import InvalidAddress, normalize_address
from listd.config import Config
from listd.models import Domain, ListStatus, MailingList


class DestinationKind(enum.StrEnum):
    POST = "post"
    REQUEST = "request"
    ROBOT = "robot"
    OWNER = "owner"
    BOUNCES = "bounces"
    CONFIRM = "confirm"
    JOIN = "join"
    LEAVE = "leave"


# Suffixes of a list's local part, longest match wins; a "+TOKEN" may follow the two that
# carry one (VERP bounces and confirmations).
SUFFIXES: dict[str, DestinationKind] = {
    "-request": DestinationKind.REQUEST,
    "-owner": DestinationKind.OWNER,
    "-bounces": DestinationKind.BOUNCES,
    "-confirm": DestinationKind.CONFIRM,
    "-join": DestinationKind.JOIN,
    "-leave": DestinationKind.LEAVE,
}
TOKEN_KINDS = (DestinationKind.BOUNCES, DestinationKind.CONFIRM)


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    # None for the robot's own addresses (robot@, robot-owner@, robot-bounces@).
    list_name: str | None
    domain: str
    token: str | None = None

    @property
    def list_address(self) -> str | None:
        return f"{self.list_name}@{self.domain}" if self.list_name else None


def parse_local_part(local: str, domain: str, robot: str) -> Destination:
    """Split a (lowercase) local part into list name, role suffix and token."""
    base, plus, token = local.partition("+")
    for suffix, kind in SUFFIXES.items():
        if base.endswith(suffix) and len(base) > len(suffix):
            name = base[: -len(suffix)]
            if plus and kind not in TOKEN_KINDS:
                break
            return Destination(kind, None if name == robot else name, domain, token or None)
    if plus:
        # A plain list address does not take a +detail: it would be an alias nobody made.
        return Destination(DestinationKind.POST, None, domain, "+" + token)
    if base == robot:
        return Destination(DestinationKind.ROBOT, None, domain)
    return Destination(DestinationKind.POST, base, domain)


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
