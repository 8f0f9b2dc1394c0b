"""A command sent to the list instead of the robot ("unsubscribe", "help"): sent back with
a pointer to the robot, rather than to every member."""

from __future__ import annotations

import re
from typing import ClassVar

from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post

COMMANDS = frozenset({
    "subscribe", "sub", "unsubscribe", "unsub", "signoff", "remove", "help", "confirm",
    "set", "join", "leave", "lists", "info", "review", "who", "which", "index", "get",
})
# A command line is short: "subscribe news Jeanne Dupont" has four words, a sentence more.
MAX_WORDS = 4
WORD = re.compile(r"[\w.@+-]+")


def command_word(line: str) -> str | None:
    words = WORD.findall(line)
    if not words or len(words) > MAX_WORDS:
        return None
    first = words[0].lower()
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
                return Verdict(Decision.REJECT, self.name,
                               f"{line!r} looks like a {word.upper()} command, and commands "
                               f"go to {post.robot_address}")
        return None
