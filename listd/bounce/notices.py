"""The mail bounce processing sends: to a suspended member, and to the list's owners."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from listd.addresses import AddressKind, scheme_address
from listd.members import addresses_with_role
from listd.models import MailingList, Role
from listd.posting.notices import send_list_notice


def owner_addresses(session: Session, mailing_list: MailingList) -> list[str]:
    return addresses_with_role(session, mailing_list, Role.OWNER)


def list_addresses(mailing_list: MailingList) -> dict[str, str]:
    domain = mailing_list.domain.name
    return {"list": mailing_list.address, "list_name": mailing_list.name,
            "request": scheme_address(mailing_list.name, domain, AddressKind.REQUEST),
            "owner": scheme_address(mailing_list.name, domain, AddressKind.OWNER),
            "bounces": scheme_address(mailing_list.name, domain, AddressKind.BOUNCES)}


def send_notice(session: Session, mailing_list: MailingList, template: str,
                recipients: list[str], reply_to: str | None = None, **values: object) -> None:
    """Queue TEMPLATE, in the list's language, for RECIPIENTS."""
    names = list_addresses(mailing_list)
    # Template values only; typed Any so they are not checked against the keyword parameters.
    fields: dict[str, Any] = {"list_name": names["list_name"], "request": names["request"],
                              **values}
    send_list_notice(session, mailing_list, template, recipients,
                     reply_to=reply_to or names["request"], **fields)
