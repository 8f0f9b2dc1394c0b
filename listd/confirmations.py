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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from listd import members, tokens
from listd.automatic_mail import Automatic
from listd.bounce import reenable
from listd.commands import invitations, list_requests, list_text, membership, phrases, roles
from listd.commands.outgoing import RobotAddresses
from listd.commands.results import Result, Status
from listd.models import MailingList, PendingAction, Role
from listd.runtime import Runtime

log = logging.getLogger("listd.commands")


@dataclass(frozen=True)
class Answering:
    """Who answered a confirmation request, and what in the answer looks automatic."""

    # The address the answer came from (From:, else the envelope sender).
    address: str
    # The signs in the answer itself: headers, sender, text. Timing is added here, as only
    # the pending action knows when it was asked.
    automatic: Automatic = field(default_factory=Automatic)
    # Given by a person's own hand on a page (a button's POST behind a CSRF token): no
    # responder or link scanner can do that, so how soon it came says nothing.
    in_person: bool = False


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
    membership.SET_DELIVERY: membership.delivery_confirmed,
    membership.SET_CONCEALMENT: membership.concealment_confirmed,
    invitations.INVITE: invitations.invitation_accepted,
    list_text.SET_TEXT: membership.on_active_list(list_text.text_confirmed),
    membership.UNSUBSCRIBE_EVERYWHERE: membership.unsubscription_everywhere_confirmed,
    membership.SET_DELIVERY_EVERYWHERE: membership.delivery_everywhere_confirmed,
    reenable.REENABLE: reenable.reenable_confirmed,
    roles.ROLE_ADD: roles.role_add_confirmed,
    roles.ROLE_DEL: roles.role_del_confirmed,
    list_requests.APPROVE_LIST: list_requests.list_approved,
    list_requests.REJECT_LIST: list_requests.list_refused,
}

# Who may answer each action's confirmation: the mailbox the request was mailed to.
Answerers = Callable[[Session, Runtime, PendingAction], Collection[str]]


def _the_address(session: Session, runtime: Runtime, pending: PendingAction) -> Collection[str]:
    return (pending.address,)


def _the_owner(session: Session, runtime: Runtime, pending: PendingAction) -> Collection[str]:
    return (str(pending.payload.get("owner", "")),)


def _the_owners(session: Session, runtime: Runtime, pending: PendingAction) -> Collection[str]:
    mailing_list = session.get(MailingList, pending.list_id) if pending.list_id else None
    if mailing_list is None:
        return ()
    return members.addresses_with_role(session, mailing_list, Role.OWNER)


ANSWERED_BY: dict[str, Answerers] = {
    membership.APPROVE_SUBSCRIPTION: _the_owners,
    membership.REFUSE_SUBSCRIPTION: _the_owners,
    membership.OWNER_ADD: _the_owner,
    membership.OWNER_DEL: _the_owner,
    roles.ROLE_ADD: _the_owner,
    roles.ROLE_DEL: _the_owner,
    list_text.SET_TEXT: _the_owner,
}
# Actions that check who answered themselves, with a refusal of their own.
CHECKED_BY_ACTION = frozenset({list_requests.APPROVE_LIST, list_requests.REJECT_LIST})
# Payload key: the addresses already told why their answer was not taken (each told once,
# and at most MAX_TOLD of them per pending action).
TOLD = "told_why_refused"
MAX_TOLD = 5

_REDEMPTION_PHRASES = {
    tokens.Redemption.UNKNOWN: "token_unknown",
    tokens.Redemption.USED: "token_used",
    tokens.Redemption.EXPIRED: "token_expired",
}


def confirm(session: Session, runtime: Runtime, token: str, answer: Answering,
            language: str, within_list: MailingList | None = None) -> Result:
    """Use TOKEN and carry out its action; LANGUAGE is for the answer about a bad token.

    WITHIN_LIST: the list whose -confirm address the token came to; a token of another list
    is unknown there. An answer from another address, or one that looks automatic, leaves
    the token unused, so the person can still answer."""
    redeemed = tokens.redeem(session, runtime, token,
                             list_id=within_list.id if within_list is not None else None)
    return carry_out(session, runtime, redeemed, answer, language)


def carry_out(session: Session, runtime: Runtime, redeemed: tokens.Redeemed,
              answer: Answering, language: str) -> Result:
    """What confirm() does once the token was looked at (tokens.redeem): refuse a bad one,
    or check the answer and run the action of the pending action it used."""
    if redeemed.status is not tokens.Redemption.VALID:
        return Result(Status.REFUSED, phrases.say(language, _REDEMPTION_PHRASES[redeemed.status]))
    pending = redeemed.pending
    assert pending is not None
    mailing_list = session.get(MailingList, pending.list_id) if pending.list_id else None
    refusal = _refusal(session, runtime, pending, mailing_list, answer, language)
    if refusal is not None:
        tokens.unredeem(pending)
        return refusal
    action = CONFIRM_ACTIONS.get(pending.action)
    if action is None:
        log.error("pending action %d: no confirm action named %r", pending.id, pending.action)
        return Result(Status.REFUSED, phrases.say(language, "token_unknown"))
    return action(session, runtime, Confirming(pending, mailing_list, answer.address))


def _refusal(session: Session, runtime: Runtime, pending: PendingAction,
             mailing_list: MailingList | None, answer: Answering, language: str
             ) -> Result | None:
    """Why ANSWER may not confirm PENDING, or None. Said once per pending action: a
    responder answering again and again gets no more mail."""
    answerers = ANSWERED_BY.get(pending.action, _the_address)(session, runtime, pending)
    automatic = answer.automatic if answer.in_person else \
        answer.automatic.timed(runtime.clock.now() - tokens.asked_at(pending))
    if pending.action not in CHECKED_BY_ACTION and answer.address not in answerers:
        text = phrases.say(language, "answer_not_from_address")
    elif automatic.first is not None:
        log.info("pending action %d: answer from %s not taken: %s", pending.id, answer.address,
                 ", ".join(sign.value for sign in automatic.signs))
        text = phrases.say(language, "answer_automatic", why=automatic.first.value,
                           token=pending.token,
                           request=RobotAddresses.of(runtime, mailing_list).request)
    else:
        return None
    told = [str(address) for address in pending.payload.get(TOLD, [])]
    if answer.address in told or len(told) >= MAX_TOLD:
        return Result(Status.REFUSED, text, notified=True)
    # A new dict, so the JSON column is seen as changed.
    pending.payload = {**pending.payload, TOLD: [*told, answer.address]}
    return Result(Status.REFUSED, text)
