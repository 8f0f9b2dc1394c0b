"""Vacation and other auto-replies sent to the list: nobody wants them distributed."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class AutoReply:
    name: ClassVar[str] = "auto-reply"

    def check(self, post: Post) -> Verdict | None:
        if not post.auto_reply:
            return None
        # Answering an auto-reply invites a loop between two robots, so it is only dropped.
        return Verdict(Decision.DISCARD, self.name, translate(
            post.language, "an automatic reply (RFC 3834), not a post"))
