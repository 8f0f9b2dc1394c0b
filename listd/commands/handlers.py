"""The robot's inbound handlers: LIST-request@ and the robot, -join, -leave, -confirm+TOKEN.

Each answers at most once, through the outbound queue, and never answers mail that could start
a loop (guards.py) or an address that has had its hourly share of robot mail (ratelimit.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from listd import header_values
from listd.addresses import try_normalize
from listd.automatic_mail import assess
from listd.bounce.message import PARSE_ERRORS
from listd.commands import ratelimit
from listd.commands.context import CommandContext
from listd.commands.guards import NoReply, answers_robot, no_reply_reason
from listd.commands.outgoing import send
from listd.commands.parser import CommandLine, body_text, parse_message
from listd.commands.registry import BY_NAME
from listd.commands.reply import reply_text, summary, tally
from listd.commands.runner import Executed, run_commands, run_one
from listd.commands.subscription import Subscribe, Unsubscribe
from listd.commands.token_kinds import answer_token
from listd.posting.answers import Answer
from listd.processing.delivery import Delivery, Outcome
from listd.runtime import Runtime


@dataclass(frozen=True)
class Handled:
    """What was done with a mail that may be answered."""

    executed: list[Executed]
    # Command lines past the limit, not read.
    ignored_lines: int = 0
    reply_owed: bool = True
    # Set when, having read the mail, the robot must not answer it after all.
    silence: NoReply | None = None


Work = Callable[[CommandContext, Delivery], Handled]


def _context(session: Session, runtime: Runtime, delivery: Delivery,
             sender: str) -> CommandContext:
    mailing_list = delivery.mailing_list
    language = mailing_list.language if mailing_list is not None else runtime.config.language
    return CommandContext(session=session, runtime=runtime, sender=sender,
                          sender_name=header_values.display_name(delivery.author[0]),
                          domain=delivery.destination.domain, context_list=mailing_list,
                          language=language, answer=Answer.of(delivery.sender, delivery.message),
                          in_reply_to=header_values.message_id(
                              delivery.raw_header("Message-ID")),
                          automatic=assess(delivery.message, delivery.sender, senders=[sender],
                                           text=body_text(delivery.message)))


def _answer(session: Session, runtime: Runtime, delivery: Delivery, work: Work,
            work_past_limit: bool = False) -> Outcome:
    """Run WORK for the sender of DELIVERY and reply once.

    WORK_PAST_LIMIT: carry the work out even for an address past its hourly share of robot
    mail, and withhold only the reply. For answers to tokens listd mailed itself (a moderator
    approving many posts by reply), whose number listd bounds already."""
    try:
        reason = no_reply_reason(delivery.message, delivery.sender, runtime.config)
        from_address = delivery.author[1]
    except PARSE_ERRORS:  # headers broken beyond reading: answer nobody
        reason, from_address = NoReply.NO_SENDER, None
    if reason is not None:
        return Outcome(f"not answered: {reason.value}")
    sender = from_address or try_normalize(delivery.sender)
    if sender is None:
        return Outcome(f"not answered: {NoReply.NO_SENDER.value} (envelope "
                       f"<{delivery.sender}>, From: {delivery.message.get('From', '-')!s})")
    limit = runtime.config.robot_mails_per_hour
    over_limit = ratelimit.over_limit(session, sender, runtime.clock.now(), limit)
    limited = f"not answered: {sender} had {limit} robot mails in the last hour"
    if over_limit and not work_past_limit:
        return Outcome(limited)
    ctx = _context(session, runtime, delivery, sender)
    handled = work(ctx, delivery)
    if handled.silence is not None:
        return Outcome(f"not answered: {handled.silence.value}")
    if over_limit:
        return Outcome(f"{limited}; carried out: {tally(handled.executed)}", queued_mail=True)
    if handled.reply_owed:
        send(session, runtime, ctx.addresses, to=[sender],
             text=reply_text(ctx, handled.executed, handled.ignored_lines), kind="reply",
             mailing_list=delivery.mailing_list, in_reply_to=ctx.in_reply_to)
    return Outcome(summary(sender, handled.executed), queued_mail=True)


def _commands(ctx: CommandContext, delivery: Delivery) -> Handled:
    parsed = parse_message(delivery.message, BY_NAME)
    if answers_robot(delivery.message, ctx.runtime.config) and not any(
            line.verb in BY_NAME for line in parsed.commands):
        # An auto-responder that marks nothing still quotes our Message-ID: ends the loop.
        return Handled([], silence=NoReply.ANSWERS_ROBOT)
    executed = run_commands(ctx, parsed.commands)
    if parsed.quiet or (executed and all(item.quiet for item in executed)):
        return Handled(executed, parsed.ignored_lines, reply_owed=False)
    shown = [item for item in executed if not item.quiet]
    return Handled(shown, parsed.ignored_lines,
                   reply_owed=parsed.ignored_lines > 0 or _reply_owed(shown))


def _reply_owed(executed: list[Executed]) -> bool:
    """Whether the commands need a reply: not when each one's answer is a confirmation
    request to the sender. The request may have been made in someone else's name, and its
    confirmation is then the only mail that someone should get from it."""
    return not executed or not all(item.result.confirmation for item in executed)


def _shortcut(verb: str) -> Work:
    def work(ctx: CommandContext, delivery: Delivery) -> Handled:
        assert ctx.context_list is not None
        line = CommandLine(f"{verb.upper()} {ctx.context_list.address}", verb, ())
        executed = [Executed(line.text, run_one(ctx, line))]
        return Handled(executed, reply_owed=_reply_owed(executed))
    return work


def _confirmation(ctx: CommandContext, delivery: Delivery) -> Handled:
    token = delivery.destination.token or ""
    result = answer_token(ctx, token, within_list=ctx.context_list)
    # A welcome or goodbye already told the sender; a second mail would only repeat it.
    return Handled([Executed(f"CONFIRM {token}", result)], reply_owed=not result.notified)


def handle_commands(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    """Mail to the robot or to LIST-request@: the commands in it, one reply."""
    return _answer(session, runtime, delivery, _commands)


def handle_join(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    """Mail to LIST-join@: subscribe the sender, whatever the mail says."""
    return _answer(session, runtime, delivery, _shortcut(Subscribe.names[0]))


def handle_leave(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    """Mail to LIST-leave@: unsubscribe the sender, whatever the mail says."""
    return _answer(session, runtime, delivery, _shortcut(Unsubscribe.names[0]))


def handle_confirm(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    """Mail to LIST-confirm+TOKEN@: a reply to a confirmation request or to a moderation
    notice (token_kinds.py tells which); the body is not read."""
    return _answer(session, runtime, delivery, _confirmation, work_past_limit=True)
