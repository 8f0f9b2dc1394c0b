"""What a command is run with: who asked, through which address, in which language."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from listd.addresses import (
    InvalidAddress,
    normalize_address,
    scheme_address,
    split_list_address,
)
from listd.automatic_mail import Automatic
from listd.commands import phrases
from listd.commands.outgoing import RobotAddresses
from listd.errors import UserError
from listd.models import Domain, ListStatus, MailingList, Member, Role
from listd.posting.answers import Answer
from listd.runtime import Runtime

# Commands in one mail that may each send a confirmation request: a mail with hundreds of
# SUBSCRIBE lines must not become hundreds of mails.
MAX_CONFIRMATIONS_PER_MAIL = 5

# Built once: nearly every command names a list (building a statement costs more than SQLite
# takes to run it).
_ACTIVE_LIST = select(MailingList).join(Domain).where(
    MailingList.name == bindparam("name"), Domain.name == bindparam("domain"),
    MailingList.status == ListStatus.ACTIVE)
_HAS_ROLE = select(Member.id).where(
    Member.list_id == bindparam("list_id"), Member.address == bindparam("address"),
    Member.role.in_(bindparam("roles", expanding=True))).limit(1)


class Refused(UserError):
    """A command that cannot be carried out; the message, in the reply's language, says why."""


@dataclass
class CommandContext:
    session: Session
    runtime: Runtime
    # The normalised address the commands came from, and the name in its From header.
    sender: str
    sender_name: str
    # The domain the mail was addressed to, and the list when it came to LIST-request@.
    domain: str
    context_list: MailingList | None
    language: str
    # Who answered, as moderation sees it: a held post is decided only by a person's mail.
    answer: Answer
    in_reply_to: str | None = None
    # What in the mail looks automatic (headers, sender, text): an answer with any sign of it
    # confirms nothing.
    automatic: Automatic = field(default_factory=Automatic)
    confirmations_left: int = MAX_CONFIRMATIONS_PER_MAIL
    # The text after the command line, for the command that takes it (TEXT).
    rest: str = ""
    # (action, address, list id) already asked for in this mail: the same request twice (say
    # "sub" in the Subject and "SUBSCRIBE news" in the body) gets one confirmation.
    requested: set[tuple[str, str, int]] = field(default_factory=set)

    @property
    def addresses(self) -> RobotAddresses:
        return RobotAddresses.of(self.runtime, self.context_list, self.domain)

    def say(self, key: str, **values: object) -> str:
        return phrases.say(self.language, key, **values)

    def refuse(self, key: str, **values: object) -> Refused:
        return Refused(self.say(key, **values))

    def claim_confirmation(self, action: str, address: str, mailing_list: MailingList) -> bool:
        """Whether to send a confirmation for this request: False for a repeat of one already
        sent for this mail; refused (raises) past the per-mail limit."""
        key = (action, address, mailing_list.id)
        if key in self.requested:
            return False
        self.spend_confirmation()
        self.requested.add(key)
        return True

    def spend_confirmation(self) -> None:
        if self.confirmations_left <= 0:
            raise self.refuse("too_many_confirmations", limit=MAX_CONFIRMATIONS_PER_MAIL)
        self.confirmations_left -= 1

    def find_list(self, text: str) -> MailingList | None:
        """The active list named TEXT ('news' in this domain, or 'news@domain')."""
        candidate = text if "@" in text else scheme_address(text, self.domain)
        try:
            name, domain = split_list_address(candidate)
        except InvalidAddress:
            return None
        return self.session.scalar(_ACTIVE_LIST, {"name": name, "domain": domain})

    def take_list(self, args: tuple[str, ...]) -> tuple[MailingList, tuple[str, ...]]:
        """The list a command is about, and the arguments after it.

        On LIST-request@ the list may be left out; a first argument that names no list is then
        taken as the next argument (a name, an address, a mode)."""
        if args:
            found = self.find_list(args[0])
            if found is not None:
                return found, args[1:]
            if self.context_list is None:
                raise self.refuse("no_such_list", name=args[0])
        if self.context_list is not None:
            return self.context_list, args
        raise self.refuse("which_list")

    def is_listmaster(self) -> bool:
        return self.sender in self.runtime.config.listmasters

    def has_role(self, mailing_list: MailingList, *roles: Role) -> bool:
        return self.session.scalar(_HAS_ROLE, {"list_id": mailing_list.id,
                                               "address": self.sender,
                                               "roles": list(roles)}) is not None

    def owner_command_address(self, mailing_list: MailingList, text: str) -> str:
        """The address an owner's command (ADD, DEL, OWNER, MODERATOR) is about; refused
        unless the sender owns the list and TEXT is a usable address."""
        if not self.is_owner(mailing_list):
            raise self.refuse("owners_only", list=mailing_list.address)
        try:
            return normalize_address(text)
        except InvalidAddress:
            raise self.refuse("invalid_address", address=text) from None

    def is_owner(self, mailing_list: MailingList) -> bool:
        return self.is_listmaster() or self.has_role(mailing_list, Role.OWNER)
