"""The shape of a mail command: a small class with its names and a run method."""

from __future__ import annotations

from typing import ClassVar, Protocol

from listd.commands.context import CommandContext
from listd.commands.results import Result


class Command(Protocol):
    # Every spelling, lowercase, Sympa's and Mailman's: ("signoff", "unsubscribe", "unsub").
    names: ClassVar[tuple[str, ...]]
    # For HELP, which is generated from the registry: the line to write, and what it does
    # (English, marked for the catalog with i18n.N_).
    usage: ClassVar[str]
    summary: ClassVar[str]

    def run(self, ctx: CommandContext, args: tuple[str, ...]) -> Result:
        """Carry the command out, or raise context.Refused with the reason."""
        ...
