"""A list's life around the listmaster's decision: the request is announced to every
listmaster, and the requester (and the owners) learn the answer.

`lists` holds the state changes; these wrap them with the mail that must go with them, and are
what the CLI and the robot's CREATELIST and confirmations call.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from listd import audit, lists
from listd.addresses import AddressKind, scheme_address, try_normalize
from listd.commands import phrases
from listd.compose import compose
from listd.config import Config
from listd.distribute.queue import enqueue_mail
from listd.errors import UserError
from listd.i18n import N_
from listd.members import addresses_with_role
from listd.models import MailingList, Role
from listd.posting.notices import owner_address
from listd.templates import render


class NotListmaster(UserError):
    """Only a listmaster may approve or refuse a list."""


def robot_address(config: Config, mailing_list: MailingList) -> str:
    return scheme_address(config.robot, mailing_list.domain.name)


def _send(session: Session, config: Config, mailing_list: MailingList, notice: str,
          recipients: Iterable[str], reply_to: str | None = None, **values: object) -> None:
    recipients = list(dict.fromkeys(recipients))
    if not recipients:
        return
    robot = robot_address(config, mailing_list)
    text = render(notice, config.language, list=mailing_list.address, robot=robot,
                  owner=owner_address(mailing_list), **values)
    message = compose(sender=robot, to=", ".join(recipients), subject=text.subject,
                      body=text.body, reply_to=reply_to)
    enqueue_mail(session, sender=scheme_address(config.robot, mailing_list.domain.name,
                                                 AddressKind.BOUNCES),
                 recipients=recipients, message=message)


def robot_confirm_address(config: Config, mailing_list: MailingList, token: str) -> str:
    """Where a listmaster answers: the list itself takes no mail until it is approved."""
    return scheme_address(config.robot, mailing_list.domain.name, AddressKind.CONFIRM, token)


def owners_of(session: Session, mailing_list: MailingList) -> list[str]:
    return addresses_with_role(session, mailing_list, Role.OWNER)


def notify_listmasters(session: Session, config: Config, mailing_list: MailingList,
                       confirm_token: str | None = None, reject_token: str | None = None) -> None:
    """Tell every listmaster about a pending list. With CONFIRM_TOKEN (a pending action the
    robot confirms), a reply approves it by mail; with REJECT_TOKEN, a mail to its address
    refuses it."""
    robot = robot_address(config, mailing_list)
    if confirm_token:
        reply_to = robot_confirm_address(config, mailing_list, confirm_token)
        how = phrases.say(config.language, "decide_list_by_mail", approve=reply_to,
                          robot=robot, token=confirm_token, list=mailing_list.address)
        if reject_token:
            how += "\n" + phrases.say(
                config.language, "refuse_list_by_mail", token=reject_token, robot=robot,
                refuse=robot_confirm_address(config, mailing_list, reject_token))
    else:
        how, reply_to = "", None
    how += "\n" + phrases.say(config.language, "decide_list_by_cli", list=mailing_list.address)
    _send(session, config, mailing_list, "list_requested", config.listmasters,
          reply_to=reply_to, requester=mailing_list.requested_by or "someone",
          template=mailing_list.template, subject=mailing_list.subject or "(none)",
          owners=", ".join(owners_of(session, mailing_list)), how_to_decide=how + "\n")


def request_list(session: Session, config: Config, address: str, owners: Iterable[str],
                 template: str = "discussion", subject: str = "",
                 requested_by: str = audit.CLI_ACTOR, confirm_token: str | None = None,
                 reject_token: str | None = None) -> MailingList:
    """Create a pending list and tell the listmasters (`listd list request`, CREATELIST)."""
    mailing_list = lists.request_list(session, config, address, owners, template, subject,
                                      requested_by)
    notify_listmasters(session, config, mailing_list, confirm_token, reject_token)
    return mailing_list


def _check_listmaster(config: Config, actor: str) -> None:
    # The CLI and a site-wide API key (the API door checks the scope) speak for a listmaster.
    if actor != audit.CLI_ACTOR and not actor.startswith(audit.API_ACTOR_PREFIX) and \
            try_normalize(actor) not in config.listmasters:
        raise NotListmaster(N_("{actor} is not a listmaster"), actor=actor)


def _told(session: Session, mailing_list: MailingList) -> list[str]:
    requester = try_normalize(mailing_list.requested_by)
    return ([requester] if requester else []) + owners_of(session, mailing_list)


def approve_list_request(session: Session, config: Config, address: str,
                         actor: str = audit.CLI_ACTOR) -> MailingList:
    """Open the list; the requester and the owners are told. ACTOR: 'cli' or a listmaster."""
    _check_listmaster(config, actor)
    mailing_list = lists.approve_list(session, address, actor)
    _send(session, config, mailing_list, "list_approved", _told(session, mailing_list))
    return mailing_list


def reject_list_request(session: Session, config: Config, address: str,
                        actor: str = audit.CLI_ACTOR, reason: str | None = None) -> MailingList:
    """Refuse the list (it stays, refused, for the record); the requester and owners are told."""
    _check_listmaster(config, actor)
    mailing_list = lists.reject_list(session, address, actor)
    _send(session, config, mailing_list, "list_rejected", _told(session, mailing_list),
          reason=reason or "(none given)")
    return mailing_list
