"""A post that claims an owner's or moderator's From counts as theirs only when authenticated.

Any From: can be forged; on a newsletter, a forged owner From would go out to every member.
With the list setting `require_owner_authentication`, such a post is accepted as the owner's
only when an authenticated domain (DKIM, or SPF of the envelope sender) aligns with From —
as checked on arrival (`verify_incoming`) or by a trusted Authentication-Results header of
the local MTA. Otherwise it is held for a moderator, with that reason.
"""

from __future__ import annotations

from typing import ClassVar

from listd.i18n import translate
from listd.posting.decision import Decision, Verdict
from listd.posting.post import Post


class OwnerAuthentication:
    name: ClassVar[str] = "owner-authentication"

    def check(self, post: Post) -> Verdict | None:
        if not post.settings.require_owner_authentication or not post.claims_owner:
            return None
        if post.submitted_by is not None:
            return None
        results = post.authentication
        if results is not None and results.aligned and post.poster.endswith(
                "@" + results.from_domain):
            return None
        found = translate(post.language, "no authentication results") if results is None \
            else translate(post.language, "DKIM passed for {domains}, SPF {spf}, DMARC {dmarc}",
                           domains=", ".join(results.dkim_pass_domains) or "-",
                           spf=results.spf.value, dmarc=results.dmarc.value)
        return Verdict(Decision.HOLD, self.name, translate(
            post.language, "the post claims to come from {poster}, who owns or moderates "
            "{list}, but is not authenticated as such ({found})", poster=post.poster,
            list=post.list_address, found=found))
