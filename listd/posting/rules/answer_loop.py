"""A poster whose posts keep answering the list's own copies within seconds: a responder loop.

Held, not dropped: a moderator sees what it was and may let it through. A person's reply
comes after reading, and even two quick ones in a row (a correction sent at once) pass.
"""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post

# The quick answer that is held: the first ones pass, as a person's may.
HELD_FROM = 3


class AnswerLoop:
    name: ClassVar[str] = "answer-loop"

    def check(self, post: Post) -> Verdict | None:
        rhythm = post.rhythm
        if not rhythm.quick or rhythm.quick_before + 1 < HELD_FROM:
            return None
        return Verdict(Decision.HOLD, self.name, translate(
            post.language, "{poster} answered the list's copies within seconds {count} times "
            "in a few minutes: an automatic responder in a loop?", poster=post.poster,
            count=rhythm.quick_before + 1))

    @staticmethod
    def first_hold(post: Post) -> bool:
        """Whether this is the first post the rule holds in a run (the owners are told)."""
        return post.rhythm.quick_before + 1 == HELD_FROM
