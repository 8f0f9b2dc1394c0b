"""The mails the posting side writes: to moderators about a held post, and to posters.

Each goes through the outbound queue in the caller's transaction, from the list's owner
address, with the list's `-bounces` address as envelope sender so a failure comes back to
listd and not to a person.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from listd.addresses import AddressKind, scheme_address
from listd.compose import compose
from listd.distribute.queue import enqueue_mail
from listd.models import MailingList
from listd.templates import render


def owner_address(mailing_list: MailingList) -> str:
    return scheme_address(mailing_list.name, mailing_list.domain.name, AddressKind.OWNER)


def bounces_address(mailing_list: MailingList) -> str:
    return scheme_address(mailing_list.name, mailing_list.domain.name, AddressKind.BOUNCES)


def confirm_address(mailing_list: MailingList, token: str) -> str:
    return scheme_address(mailing_list.name, mailing_list.domain.name, AddressKind.CONFIRM,
                          token)


def robot_address(mailing_list: MailingList, robot: str) -> str:
    return scheme_address(robot, mailing_list.domain.name)


def send_list_notice(session: Session, mailing_list: MailingList, notice: str,
                     recipients: Sequence[str], *, sender: str | None = None,
                     reply_to: str | None = None, attachment: bytes | None = None,
                     in_reply_to: str | None = None, **values: object) -> None:
    """Render NOTICE in the list's language and queue it for RECIPIENTS."""
    if not recipients:
        return
    text = render(notice, mailing_list.language, list=mailing_list.address, **values)
    message = compose(sender=sender or owner_address(mailing_list),
                      sender_name=f"{mailing_list.name} list", to=", ".join(recipients),
                      subject=text.subject, body=text.body, reply_to=reply_to,
                      in_reply_to=in_reply_to, attachment=attachment,
                      headers={"X-Loop": mailing_list.address})
    enqueue_mail(session, sender=bounces_address(mailing_list), recipients=recipients,
                 message=message, list_id=mailing_list.id)
