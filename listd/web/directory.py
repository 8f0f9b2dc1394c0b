"""What the public pages show about lists, and who may see a list at all (reads only).

A hidden list (visibility: hidden) is shown to its own members and the listmasters, and to
nobody else: to a stranger its page does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd.errors import NotFound
from listd.lists import find_list
from listd.models import Domain, ListStatus, MailingList, Member, Role
from listd.settings import ListSettings


@dataclass(frozen=True)
class ListView:
    address: str
    name: str
    domain: str
    subject: str
    description: str
    language: str
    subscription: str
    archive_url: str | None
    status: str

    @property
    def join(self) -> str:
        return f"{self.name}-join@{self.domain}"

    @property
    def request(self) -> str:
        return f"{self.name}-request@{self.domain}"

    @property
    def owner(self) -> str:
        return f"{self.name}-owner@{self.domain}"


def view(mailing_list: MailingList, settings: ListSettings | None = None) -> ListView:
    settings = settings or ListSettings.of(mailing_list)
    return ListView(mailing_list.address, mailing_list.name, mailing_list.domain.name,
                    mailing_list.subject, mailing_list.description, mailing_list.language,
                    settings.subscription, settings.archive_url, mailing_list.status.value)


def is_hidden(mailing_list: MailingList) -> bool:
    return ListSettings.of(mailing_list).visibility == "hidden"


def member_list_ids(session: Session, address: str | None) -> set[int]:
    if address is None:
        return set()
    return set(session.scalars(select(Member.list_id).where(Member.address == address)))


def public_lists(session: Session, address: str | None, listmaster: bool) -> list[ListView]:
    """Active lists in address order; hidden ones only for their members (or a listmaster)."""
    mine = member_list_ids(session, address)
    query = (select(MailingList).join(Domain).where(MailingList.status == ListStatus.ACTIVE)
             .order_by(Domain.name, MailingList.name))
    shown = []
    for mailing_list in session.scalars(query):
        settings = ListSettings.of(mailing_list)
        if listmaster or mailing_list.id in mine or settings.visibility != "hidden":
            shown.append(view(mailing_list, settings))
    return shown


def visible_list(session: Session, list_address: str, address: str | None,
                 listmaster: bool) -> MailingList:
    """The list, or NotFound as if it did not exist when the asker may not see it."""
    mailing_list = find_list(session, list_address)
    if mailing_list.status is not ListStatus.ACTIVE and not listmaster:
        raise NotFound(f"no list {list_address}")
    if is_hidden(mailing_list) and not listmaster and \
            mailing_list.id not in member_list_ids(session, address):
        raise NotFound(f"no list {list_address}")
    return mailing_list


def member_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(  # type: ignore[arg-type]
        select(Member.list_id, func.count()).where(Member.role == Role.SUBSCRIBER)
        .group_by(Member.list_id)).all())
