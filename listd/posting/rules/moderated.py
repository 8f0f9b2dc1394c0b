"""A moderated list: every post, whoever wrote it, waits for a moderator."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class Moderated:
    name: ClassVar[str] = "moderated"

    def check(self, post: Post) -> Verdict | None:
        if post.settings.posting != "moderated":
            return None
        return Verdict(Decision.HOLD, self.name, translate(
            post.language, "every post to this list is moderated"))
