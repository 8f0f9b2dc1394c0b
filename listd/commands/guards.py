"""When the robot must not answer at all: automatic mail, bounces, lists, and its own mail.

Answering any of these can start a mail loop (RFC 3834 section 2), or send mail to someone who
never wrote. Pure: a message and its envelope in, a reason (or None) out.
"""

from __future__ import annotations

import enum
from email.message import EmailMessage

from listd.addresses import header_address, try_normalize
from listd.bounce.autoreply import is_auto_reply
from listd.config import Config
from listd.smtp_in.routing import DestinationKind, parse_local_part

# Role addresses of any list server: mail from them is automatic.
_ROBOT_KINDS = (DestinationKind.BOUNCES, DestinationKind.REQUEST, DestinationKind.OWNER)

LIST_PRECEDENCE = frozenset({"bulk", "list", "junk"})
ROBOT_SENDERS = frozenset({"mailer-daemon", "postmaster", "listserv", "majordomo", "sympa",
                           "mailman", "noreply", "no-reply", "do-not-reply", "donotreply"})
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


def no_reply_reason(message: EmailMessage, envelope_sender: str,
                    config: Config) -> NoReply | None:
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return NoReply.AUTO_SUBMITTED
    content_type = message.get_content_type()
    if not envelope_sender or content_type == "multipart/report":
        return NoReply.BOUNCE
    if message.get("List-Id") is not None or \
            str(message.get("Precedence", "")).strip().lower() in LIST_PRECEDENCE:
        return NoReply.MAILING_LIST
    if any(_ours(str(value), config) for value in message.get_all(LOOP_HEADER, [])):
        return NoReply.OWN_MAIL
    if is_auto_reply(message):
        return NoReply.AUTO_REPLY
    for address in (try_normalize(envelope_sender), header_address(message.get("From"))):
        if address is None:
            continue
        if _ours(address, config):
            return NoReply.OWN_MAIL
        local = address.rpartition("@")[0]
        if local in ROBOT_SENDERS or \
                parse_local_part(local, "", config.robot).kind in _ROBOT_KINDS:
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
