"""Confirmations: an action waits in `pending_actions` until its token comes back, then runs.

Create one with `tokens.issue(session, runtime, ACTION, address, mailing_list, payload)` and
mail its token (`RobotAddresses.confirm(token)` is the address to answer). The token comes back
as a reply to LIST-confirm+TOKEN@ or as a `CONFIRM TOKEN` command (commands/token_kinds.py
tries these first, then held posts' tokens); `confirm()` then checks it
(signature, expiry, single use) and runs the function CONFIRM_ACTIONS names for its action.
To add an action: write `def my_action(session, runtime, confirming) -> Result` and add one
line to CONFIRM_ACTIONS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from listd import tokens
from listd.bounce import reenable
from listd.commands import list_requests, membership, phrases, roles
from listd.commands.results import Result, Status
from listd.models import MailingList, PendingAction
from listd.runtime import Runtime

log = logging.getLogger("listd.commands")


@dataclass(frozen=True)
class Confirming:
    """A pending action whose token just came back, valid and now used."""

    pending: PendingAction
    # The list it is about (None for site-wide actions).
    mailing_list: MailingList | None
    # The address the confirmation came from: the token was mailed to one of its owner's
    # addresses, which is what proves the confirmation, not this (forgeable) From.
    confirmed_by: str


ConfirmAction = Callable[[Session, Runtime, Confirming], Result]

CONFIRM_ACTIONS: dict[str, ConfirmAction] = {
    membership.SUBSCRIBE: membership.subscription_confirmed,
    membership.UNSUBSCRIBE: membership.unsubscription_confirmed,
    membership.APPROVE_SUBSCRIPTION: membership.approval_given,
    membership.REFUSE_SUBSCRIPTION: membership.approval_refused,
    membership.OWNER_ADD: membership.owner_add_confirmed,
    membership.OWNER_DEL: membership.owner_del_confirmed,
    reenable.REENABLE: reenable.reenable_confirmed,
    roles.ROLE_ADD: roles.role_add_confirmed,
    roles.ROLE_DEL: roles.role_del_confirmed,
    list_requests.APPROVE_LIST: list_requests.list_approved,
    list_requests.REJECT_LIST: list_requests.list_refused,
}

_REDEMPTION_PHRASES = {
    tokens.Redemption.UNKNOWN: "token_unknown",
    tokens.Redemption.USED: "token_used",
    tokens.Redemption.EXPIRED: "token_expired",
}


def confirm(session: Session, runtime: Runtime, token: str, confirmed_by: str,
            language: str, within_list: MailingList | None = None) -> Result:
    """Use TOKEN and carry out its action; LANGUAGE is for the answer about a bad token.

    WITHIN_LIST: the list whose -confirm address the token came to; a token of another list
    is unknown there."""
    redeemed = tokens.redeem(session, runtime, token,
                             list_id=within_list.id if within_list is not None else None)
    if redeemed.status is not tokens.Redemption.VALID:
        return Result(Status.REFUSED, phrases.say(language, _REDEMPTION_PHRASES[redeemed.status]))
    pending = redeemed.pending
    assert pending is not None
    mailing_list = session.get(MailingList, pending.list_id) if pending.list_id else None
    action = CONFIRM_ACTIONS.get(pending.action)
    if action is None:
        log.error("pending action %d: no confirm action named %r", pending.id, pending.action)
        return Result(Status.REFUSED, phrases.say(language, "token_unknown"))
    return action(session, runtime, Confirming(pending, mailing_list, confirmed_by))
