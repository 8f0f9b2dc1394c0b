"""The site-wide suppression list: addresses no list adds again without the person's new consent.

An address lands here when its owner complained (ARF), when a list removed it for bounces,
when the person asked to be forgotten, or when a listmaster put it here. Every door that adds a
subscriber (member add, member import, the API) asks `refusal` first; only a listmaster who has
the person's new consent forces it, and forcing lifts the suppression (recorded in the audit log).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd import audit
from listd.addresses import normalize_address
from listd.errors import NotFound, UserError
from listd.i18n import N_, Term
from listd.models import MailingList, Suppression, SuppressionReason

# How many addresses one IN (…) query checks; far below every backend's parameter limit.
LOOKUP_BATCH = 500


# The reasons' words, for the catalog (a refusal names the reason in the list's language).
REASON_WORDS = (N_("complaint"), N_("bounces"), N_("forgotten"), N_("listmaster"))
SUPPRESSED = N_("{address} is on the suppression list ({reason} since {since}); add it with "
                "force only with the person's new consent")
SUPPRESSED_FROM = N_("{address} is on the suppression list ({reason} on {list} since {since}); "
                     "add it with force only with the person's new consent")


class Suppressed(UserError):
    """An address on the suppression list that someone tried to add to a list."""

    def __init__(self, entry: Suppression) -> None:
        message = SUPPRESSED_FROM if entry.list_address else SUPPRESSED
        super().__init__(message, address=entry.address, reason=Term(entry.reason.value),
                         list=entry.list_address, since=entry.created_at.date().isoformat(),
                         detail=entry.note)
        self.entry = entry


def why(entry: Suppression) -> str:
    where = f" on {entry.list_address}" if entry.list_address else ""
    note = f": {entry.note}" if entry.note else ""
    return f"{entry.reason.value}{where} since {entry.created_at.date().isoformat()}{note}"


def find(session: Session, address: str) -> Suppression | None:
    return session.scalar(select(Suppression).where(Suppression.address == address))


def suppress(session: Session, address: str, reason: SuppressionReason, *, actor: str,
             note: str = "", mailing_list: MailingList | None = None) -> Suppression:
    """Put ADDRESS on the list; an address already there keeps its first reason and date."""
    normalized = normalize_address(address)
    existing = find(session, normalized)
    if existing is not None:
        return existing
    entry = Suppression(address=normalized, reason=reason, note=note.strip(), actor=actor,
                        list_address=mailing_list.address if mailing_list else None)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "suppression.added", mailing_list, normalized,
                 reason=reason.value, note=entry.note)
    return entry


def lift(session: Session, address: str, *, actor: str, why_lifted: str) -> Suppression:
    normalized = normalize_address(address)
    entry = find(session, normalized)
    if entry is None:
        raise NotFound(N_("{address} is not on the suppression list"), address=normalized)
    session.delete(entry)
    audit.record(session, actor, "suppression.removed", None, normalized,
                 reason=entry.reason.value, why=why_lifted)
    return entry


def refuse_if_suppressed(session: Session, address: str) -> None:
    entry = find(session, address)
    if entry is not None:
        raise Suppressed(entry)


def check_addable(session: Session, address: str, *, force: bool, actor: str) -> None:
    """Refuse a suppressed ADDRESS; with FORCE (new consent) lift its suppression instead."""
    if not force:
        refuse_if_suppressed(session, address)
    elif find(session, address) is not None:
        lift(session, address, actor=actor, why_lifted="added again with force (new consent)")


def suppressed_among(session: Session, addresses: Iterable[str]) -> dict[str, Suppression]:
    """The suppressed ones of ADDRESSES (normalized), by address."""
    wanted = list(dict.fromkeys(addresses))
    found: dict[str, Suppression] = {}
    for start in range(0, len(wanted), LOOKUP_BATCH):
        chunk = wanted[start:start + LOOKUP_BATCH]
        found.update((e.address, e) for e in session.scalars(
            select(Suppression).where(Suppression.address.in_(chunk))))
    return found


def entries(session: Session) -> list[Suppression]:
    return list(session.scalars(select(Suppression).order_by(Suppression.address)))


def describe(entry: Suppression) -> dict[str, object]:
    return {"address": entry.address, "reason": entry.reason.value, "note": entry.note,
            "list": entry.list_address, "actor": entry.actor,
            "since": entry.created_at.isoformat(timespec="seconds")}
