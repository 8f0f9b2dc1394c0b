"""The one reply a command mail gets: each command with what came of it."""

from __future__ import annotations

from collections.abc import Sequence

from listd.commands.context import CommandContext
from listd.commands.runner import Executed
from listd.templates import Text, render


def reply_text(ctx: CommandContext, executed: Sequence[Executed], ignored_lines: int = 0
               ) -> Text:
    blocks = []
    for item in executed:
        label = ctx.say(f"status_{item.result.status.value}")
        blocks.append(f"> {item.line}\n" + ctx.say("result_line", status=label,
                                                       text=item.result.text))
    if not executed:
        blocks.append(ctx.say("no_commands", request=ctx.addresses.request))
    if ignored_lines:
        blocks.append(ctx.say("lines_ignored", count=ignored_lines))
    return render("reply", ctx.language, results="\n\n".join(blocks),
                  request=ctx.addresses.request)


def tally(executed: Sequence[Executed]) -> str:
    """How the commands ended, counted: '2 done, 1 refused'."""
    counts: dict[str, int] = {}
    for item in executed:
        counts[item.result.status.value] = counts.get(item.result.status.value, 0) + 1
    return ", ".join(f"{count} {status}" for status, count in counts.items()) or "no command"


def summary(sender: str, executed: Sequence[Executed]) -> str:
    """One line for the inbound row and the log: how each command ended."""
    return f"answered {sender}: {tally(executed)}"
