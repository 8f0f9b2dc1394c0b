"""The posting rules, one per module, and the order they run in.

Each rule has a stable `name` (used in logs, the audit log and held posts' records) and a
`check(post)` that returns a Verdict, or None to let the next rule look. The order matters:
what must never reach moderators (banned, duplicates, auto-replies) goes first, then the
loop breaker (held, and the owners told once), then what
holds everything (emergency), then the policy.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from listd.posting.decision import Verdict
from listd.posting.post import Post
from listd.posting.rules.administrivia import Administrivia
from listd.posting.rules.answer_loop import AnswerLoop
from listd.posting.rules.auto_reply import AutoReply
from listd.posting.rules.banned import Banned
from listd.posting.rules.duplicate import Duplicate
from listd.posting.rules.emergency import Emergency
from listd.posting.rules.max_recipients import MaxRecipients
from listd.posting.rules.max_size import MaxSize
from listd.posting.rules.moderated import Moderated
from listd.posting.rules.owner_authentication import OwnerAuthentication
from listd.posting.rules.posting_policy import PostingPolicy


class Rule(Protocol):
    name: ClassVar[str]

    def check(self, post: Post) -> Verdict | None: ...


DEFAULT_RULES: tuple[Rule, ...] = (
    Banned(),
    Duplicate(),
    AutoReply(),
    AnswerLoop(),
    Emergency(),
    Administrivia(),
    MaxSize(),
    MaxRecipients(),
    # Before the policy, which lets owners and moderators through.
    OwnerAuthentication(),
    Moderated(),
    PostingPolicy(),
)

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in DEFAULT_RULES}
