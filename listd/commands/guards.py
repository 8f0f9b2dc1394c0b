"""When the robot must not answer at all: automatic mail, bounces, lists, and its own mail.

Answering any of these can start a mail loop (RFC 3834 section 2), or send mail to someone who
never wrote. Pure: a message and its envelope in, a reason (or None) out.
"""

from __future__ import annotations

import enum
from email.message import EmailMessage

from listd.addresses import header_address, try_normalize
from listd.automatic_mail import Sign, assess
from listd.config import Config
from listd.smtp_in.routing import DestinationKind, parse_local_part

LOOP_HEADER = "X-Loop"
# Part of the Message-ID of every robot mail: <…ROBOT_MESSAGE_ID@domain>.
ROBOT_MESSAGE_ID = "listd-robot"


class NoReply(enum.StrEnum):
    AUTO_SUBMITTED = "marked Auto-Submitted"
    AUTO_REPLY = "an automatic reply"
    BOUNCE = "a bounce (null sender or delivery report)"
    MAILING_LIST = "mail from a mailing list (List-Id or Precedence)"
    OWN_MAIL = "listd's own mail"
    ROBOT_SENDER = "sent by a robot address"
    NO_SENDER = "no usable sender address"
    ANSWERS_ROBOT = "an answer to the robot's own mail, with no command in it"


def loop_marker(robot_address: str) -> tuple[str, str]:
    """The header every robot mail carries, so it is known again if it comes back."""
    return LOOP_HEADER, robot_address


# Which sign silences the robot under which name, first match wins.
_SILENCING: tuple[tuple[frozenset[Sign], NoReply], ...] = (
    (frozenset({Sign.AUTO_SUBMITTED}), NoReply.AUTO_SUBMITTED),
    (frozenset({Sign.NULL_SENDER, Sign.REPORT}), NoReply.BOUNCE),
    (frozenset({Sign.FROM_A_LIST}), NoReply.MAILING_LIST),
)
_AUTO_REPLY = frozenset({Sign.VENDOR_HEADER, Sign.PRECEDENCE_AUTO_REPLY, Sign.SUBJECT})


def no_reply_reason(message: EmailMessage, envelope_sender: str,
                    config: Config) -> NoReply | None:
    senders = [a for a in (try_normalize(envelope_sender), header_address(message.get("From")))
               if a is not None]
    automatic = assess(message, envelope_sender, senders=senders)
    for signs, reason in _SILENCING:
        if signs.intersection(automatic.signs):
            return reason
    if any(_ours(str(value), config) for value in message.get_all(LOOP_HEADER, [])):
        return NoReply.OWN_MAIL
    if _AUTO_REPLY.intersection(automatic.signs):
        return NoReply.AUTO_REPLY
    if any(_ours(address, config) for address in senders):
        return NoReply.OWN_MAIL
    if Sign.ROBOT_SENDER in automatic.signs:
        return NoReply.ROBOT_SENDER
    return None


def _ours(text: str, config: Config) -> bool:
    """Whether TEXT is one of listd's robot addresses (not a list address a person posts to)."""
    address = try_normalize(text.strip())
    if address is None:
        return False
    local, _, domain = address.rpartition("@")
    if not config.serves(domain):
        return False
    destination = parse_local_part(local, domain, config.robot)
    return destination.kind is not DestinationKind.POST or destination.list_name is None


def answers_robot(message: EmailMessage, config: Config) -> bool:
    """Whether MESSAGE replies to a mail the robot wrote (In-Reply-To or References)."""
    refs = " ".join(str(message.get(name, "")) for name in ("In-Reply-To", "References"))
    return any(f".{ROBOT_MESSAGE_ID}@{domain}>" in refs.lower() for domain in config.domains)
