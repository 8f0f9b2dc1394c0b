"""Running the rules in order: the first one that decides wins; if none does, accept."""

from __future__ import annotations

from collections.abc import Sequence

from listd.posting.decision import ACCEPTED, Verdict
from listd.posting.post import Post
from listd.posting.rules import DEFAULT_RULES, Rule


def evaluate(post: Post, rules: Sequence[Rule] = DEFAULT_RULES) -> Verdict:
    for rule in rules:
        verdict = rule.check(post)
        if verdict is not None:
            return verdict
    return ACCEPTED
