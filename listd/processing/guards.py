"""Checks at the door that stop a mail before it reaches a list's policy: loops above all."""

from __future__ import annotations

from email.message import EmailMessage

from listd.models import MailingList


def list_id_of(mailing_list: MailingList) -> str:
    """The RFC 2919 list identifier, without the angle brackets."""
    return f"{mailing_list.name}.{mailing_list.domain.name}"


def loop_reason(message: EmailMessage, mailing_list: MailingList) -> str | None:
    """Why MESSAGE has already been through MAILING_LIST, or None if it has not."""
    own_id = f"<{list_id_of(mailing_list)}>"
    for value in message.get_all("List-Id", []):
        if own_id in str(value).lower():
            return f"loop: the post already carries this list's List-Id {own_id}"
    for value in message.get_all("X-Loop", []):
        if mailing_list.address in str(value).lower():
            return f"loop: the post already carries X-Loop: {mailing_list.address}"
    return None
