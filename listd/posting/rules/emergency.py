"""The owners' emergency brake: while it is on, every post waits for a moderator."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class Emergency:
    name: ClassVar[str] = "emergency"

    def check(self, post: Post) -> Verdict | None:
        if not post.settings.emergency:
            return None
        return Verdict(Decision.HOLD, self.name, translate(
            post.language, "emergency moderation is on: every post waits for a moderator"))
