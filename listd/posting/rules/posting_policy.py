"""Who may post: owners (and moderators), members, or anyone; the others get the list's
non-member action (hold, reject or discard)."""

from __future__ import annotations

from typing import ClassVar

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
            why = f"{post.poster or 'the sender'} is not a member of {post.list_address}"
        else:
            # On a newsletter, subscribers read; the accept list does not make a subscriber
            # an author either, but it does let a known outside author through.
            if post.accepted:
                return ACCEPTED
            why = f"only the owners and moderators of {post.list_address} may post to it"
        return Verdict(ACTIONS[settings.nonmember_action], self.name, why)
