"""Mail the robot writes: its addresses, and the one way it queues a mail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import make_msgid

from sqlalchemy.orm import Session

from listd.addresses import AddressKind, scheme_address
from listd.commands import ratelimit
from listd.commands.guards import ROBOT_MESSAGE_ID, loop_marker
from listd.compose import compose
from listd.distribute.queue import enqueue_mail
from listd.models import MailingList
from listd.runtime import Runtime
from listd.templates import Text


@dataclass(frozen=True)
class RobotAddresses:
    """The robot's addresses in a list's context (LIST-request@…) or the site's (ROBOT@…)."""

    robot: str
    domain: str
    list_name: str | None = None

    @classmethod
    def of(cls, runtime: Runtime, mailing_list: MailingList | None,
           domain: str | None = None) -> RobotAddresses:
        if mailing_list is not None:
            return cls(runtime.config.robot, mailing_list.domain.name, mailing_list.name)
        chosen = domain or (runtime.config.domains[0] if runtime.config.domains else "localhost")
        return cls(runtime.config.robot, chosen)

    @property
    def _base(self) -> str:
        return self.list_name or self.robot

    @property
    def request(self) -> str:
        """Where commands go, and where the robot's mail comes from."""
        kind = AddressKind.REQUEST if self.list_name else AddressKind.ROBOT
        return scheme_address(self._base, self.domain, kind)

    @property
    def robot_address(self) -> str:
        return scheme_address(self.robot, self.domain)

    @property
    def envelope_sender(self) -> str:
        return scheme_address(self._base, self.domain, AddressKind.BOUNCES)

    @property
    def owner(self) -> str:
        return scheme_address(self._base, self.domain, AddressKind.OWNER)

    def confirm(self, token: str) -> str:
        return scheme_address(self._base, self.domain, AddressKind.CONFIRM, token)


def send(session: Session, runtime: Runtime, addresses: RobotAddresses, *,
         to: Sequence[str], text: Text, kind: str, mailing_list: MailingList | None,
         sender: str | None = None, reply_to: str | None = None,
         in_reply_to: str | None = None) -> None:
    """Queue one robot mail, in the caller's transaction, and count it against the rate limit."""
    message = compose(sender=sender or addresses.request, to=", ".join(to), subject=text.subject,
                      body=text.body, reply_to=reply_to, in_reply_to=in_reply_to,
                      headers=dict([loop_marker(addresses.robot_address)]))
    # Marked, so a careless auto-responder answering it is recognised (guards.answers_robot).
    message.replace_header("Message-ID", make_msgid(ROBOT_MESSAGE_ID, addresses.domain))
    enqueue_mail(session, sender=addresses.envelope_sender, recipients=list(to),
                 message=message, kind=kind,
                 list_id=mailing_list.id if mailing_list is not None else None)
    now = runtime.clock.now()
    for recipient in to:
        ratelimit.record_mail(session, recipient, kind, now, mailing_list)


def send_to_members(session: Session, runtime: Runtime, mailing_list: MailingList,
                    recipients: Sequence[str], text: Text, kind: str,
                    addresses: RobotAddresses | None = None) -> None:
    """Queue one mail for many members (a reminder) as a fan-out: one stored message, one
    queue entry per member, each with its own VERP sender of MAILING_LIST so a bounce names
    the member; the delivery workers pace it like any post. Not counted against the robot's
    per-address limit, which is for answers to mail that came in. From the list's robot
    address, or from ADDRESSES (the site's robot, for a mail about several lists)."""
    addresses = addresses or RobotAddresses.of(runtime, mailing_list)
    to = mailing_list.address if addresses.list_name else addresses.request
    message = compose(sender=addresses.request, to=to, subject=text.subject,
                      body=text.body, auto_submitted="auto-generated",
                      headers=dict([loop_marker(addresses.robot_address)]))
    message.replace_header("Message-ID", make_msgid(ROBOT_MESSAGE_ID, addresses.domain))
    bounces = RobotAddresses.of(runtime, mailing_list).envelope_sender
    enqueue_mail(session, sender=bounces, recipients=list(recipients),
                 message=message, kind=kind, list_id=mailing_list.id, verp=True)
