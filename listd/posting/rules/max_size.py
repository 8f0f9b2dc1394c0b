"""Posts larger than the list allows wait for a moderator."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class MaxSize:
    name: ClassVar[str] = "max-size"

    def check(self, post: Post) -> Verdict | None:
        limit = post.settings.max_message_size
        if limit == 0 or post.size <= limit:
            return None
        return Verdict(Decision.HOLD, self.name, translate(
            post.language, "the post is {size} bytes; the list takes at most {limit}",
            size=post.size, limit=limit))
