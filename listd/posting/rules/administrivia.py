"""A command sent to the list instead of the robot ("unsubscribe", "help"): sent back with
a pointer to the robot, rather than to every member."""

from __future__ import annotations

import re
from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post

# Robot commands that are not also everyday first words of a sentence ("who", "get", …).
COMMANDS = frozenset({
    "subscribe", "sub", "unsubscribe", "unsub", "signoff", "help", "confirm", "set", "join",
    "leave", "lists", "info", "review", "which",
})
# A command line is a few bare words ("subscribe news Jeanne Dupont"); punctuation or a fifth
# word makes it a sentence.
COMMAND_LINE = re.compile(r"^([\w.@+-]+)(?:\s+[\w.@+-]+){0,3}$")


def command_word(line: str) -> str | None:
    match = COMMAND_LINE.match(line.strip())
    if match is None:
        return None
    first = match.group(1).lower()
    return first if first in COMMANDS else None


class Administrivia:
    name: ClassVar[str] = "administrivia"

    def check(self, post: Post) -> Verdict | None:
        subject = post.subject
        if subject.lower().startswith(("re:", "fwd:", "fw:", "aw:", "tr:")):
            subject = ""
        for line in (subject, *post.first_lines):
            word = command_word(line)
            if word is not None:
                return Verdict(Decision.REJECT, self.name, translate(
                    post.language, "'{line}' looks like a {command} command, and commands go "
                    "to {robot}", line=line, command=word.upper(), robot=post.robot_address))
        return None
