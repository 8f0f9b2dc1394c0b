"""The mail bounce processing sends: to a suspended member, and to the list's owners."""

from __future__ import annotations

from sqlalchemy.orm import Session

from listd.members import addresses_with_role
from listd.models import MailingList, Role
from listd.posting.notices import send_list_notice


def owner_addresses(session: Session, mailing_list: MailingList) -> list[str]:
    return addresses_with_role(session, mailing_list, Role.OWNER)


def send_notice(session: Session, mailing_list: MailingList, template: str,
                recipients: list[str], reply_to: str | None = None, **values: object) -> None:
    """Queue TEMPLATE, in the list's language, for RECIPIENTS."""
    request = f"{mailing_list.name}-request@{mailing_list.domain.name}"
    send_list_notice(session, mailing_list, template, recipients,
                     reply_to=reply_to or request, list_name=mailing_list.name,
                     request=request, **values)
