"""Posts addressed to many people at once (To and Cc) look like spam: a moderator looks."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class MaxRecipients:
    name: ClassVar[str] = "max-recipients"

    def check(self, post: Post) -> Verdict | None:
        limit = post.settings.max_recipients
        if limit == 0 or post.recipient_count <= limit:
            return None
        return Verdict(Decision.HOLD, self.name, translate(
            post.language, "the post names {count} addresses in To and Cc; the list allows "
            "{limit}", count=post.recipient_count, limit=limit))
