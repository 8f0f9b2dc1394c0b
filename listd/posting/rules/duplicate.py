"""A Message-ID this list has already had: a resent or looped copy, not a new post."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class Duplicate:
    name: ClassVar[str] = "duplicate"

    def check(self, post: Post) -> Verdict | None:
        if not post.seen_before:
            return None
        return Verdict(Decision.DISCARD, self.name, translate(
            post.language, "Message-ID {message_id} was already posted to {list}",
            message_id=post.message_id, list=post.list_address))
