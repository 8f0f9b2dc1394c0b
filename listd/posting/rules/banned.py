"""Banned addresses and patterns: their posts are dropped without an answer."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class Banned:
    name: ClassVar[str] = "banned"

    def check(self, post: Post) -> Verdict | None:
        if post.banned_by is None:
            return None
        # No answer: a reply would tell a spammer the address works and that it is banned.
        return Verdict(Decision.DISCARD, self.name, translate(
            post.language, "{poster} is banned from {list} ({pattern})", poster=post.poster,
            list=post.list_address, pattern=post.banned_by))
