"""The mail bounce processing sends: to a suspended member, and to the list's owners."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from listd.compose import compose
from listd.distribute.queue import enqueue_mail
from listd.models import MailingList, Member, Role
from listd.templates import render


def owner_addresses(session: Session, mailing_list: MailingList) -> list[str]:
    return list(session.scalars(select(Member.address).where(
        Member.list_id == mailing_list.id, Member.role == Role.OWNER).order_by(Member.address)))


def list_addresses(mailing_list: MailingList) -> dict[str, str]:
    domain = mailing_list.domain.name
    return {"list": mailing_list.address, "list_name": mailing_list.name,
            "request": f"{mailing_list.name}-request@{domain}",
            "owner": f"{mailing_list.name}-owner@{domain}",
            "bounces": f"{mailing_list.name}-bounces@{domain}"}


def send_notice(session: Session, mailing_list: MailingList, template: str,
                recipients: list[str], reply_to: str | None = None, **values: object) -> None:
    """Queue TEMPLATE, in the list's language, for RECIPIENTS (one message each)."""
    names = list_addresses(mailing_list)
    text = render(template, mailing_list.language, **names, **values)
    for recipient in recipients:
        message = compose(sender=names["owner"], to=recipient, subject=text.subject,
                          body=text.body, auto_submitted="auto-generated",
                          reply_to=reply_to or names["request"])
        enqueue_mail(session, sender=names["bounces"], recipients=[recipient],
                     message=message, kind="notice", list_id=mailing_list.id)
