"""Running the commands of one mail, each on its own, in order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from listd.commands.command import Command
from listd.commands.context import CommandContext
from listd.commands.parser import CommandLine
from listd.commands.registry import BY_NAME
from listd.commands.results import Result, Status
from listd.errors import UserError


@dataclass(frozen=True)
class Executed:
    """One command line and what came of it, for the reply."""

    line: str
    result: Result
    # Asked for with QUIET: done, but not reported.
    quiet: bool = False


def run_commands(ctx: CommandContext, lines: Sequence[CommandLine],
                 commands: Mapping[str, Command] = BY_NAME) -> list[Executed]:
    return [Executed(line.text, run_one(ctx, line, commands), line.quiet) for line in lines]


def run_one(ctx: CommandContext, line: CommandLine,
            commands: Mapping[str, Command] = BY_NAME) -> Result:
    command = commands.get(line.verb)
    if command is None:
        return Result(Status.UNKNOWN, ctx.say("unknown_command", verb=line.verb.upper(),
                                              request=ctx.addresses.request))
    try:
        ctx.rest = line.rest
        # A savepoint per command: a refused one leaves nothing half done behind it.
        with ctx.session.begin_nested():
            return command.run(ctx, line.args)
    except UserError as refusal:
        return Result(Status.REFUSED, refusal.in_language(ctx.language))
