"""Who may post: owners (and moderators), members, or anyone; the others get the list's
non-member action (hold, reject or discard)."""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import ACCEPTED, Decision, Verdict
from listd.posting.post import Post

ACTIONS = {"hold": Decision.HOLD, "reject": Decision.REJECT, "discard": Decision.DISCARD}


class PostingPolicy:
    name: ClassVar[str] = "posting-policy"

    def check(self, post: Post) -> Verdict | None:
        settings = post.settings
        if settings.posting == "anyone":
            return ACCEPTED
        if post.is_owner_or_moderator:
            return ACCEPTED
        if settings.posting == "members":
            if post.is_member or post.accepted:
                return ACCEPTED
            why = translate(post.language, "{poster} is not a member of {list}",
                            poster=post.poster or translate(post.language, "the sender"),
                            list=post.list_address)
        else:
            # On a newsletter, subscribers read; the accept list does not make a subscriber
            # an author either, but it does let a known outside author through.
            if post.accepted:
                return ACCEPTED
            why = translate(post.language, "only the owners and moderators of {list} may post "
                            "to it", list=post.list_address)
        return Verdict(ACTIONS[settings.nonmember_action], self.name, why)
