"""Each posting rule alone, on facts built by hand, and the pipeline's order."""

from __future__ import annotations

import dataclasses

import pytest

from listd.models import Role
from listd.posting.decision import Decision
from listd.posting.pipeline import evaluate
from listd.posting.post import Post
from listd.posting.rules import RULES_BY_NAME
from listd.posting.rules.administrivia import Administrivia, command_word
from listd.posting.rules.auto_reply import AutoReply
from listd.posting.rules.banned import Banned
from listd.posting.rules.duplicate import Duplicate
from listd.posting.rules.emergency import Emergency
from listd.posting.rules.max_recipients import MaxRecipients
from listd.posting.rules.max_size import MaxSize
from listd.posting.rules.moderated import Moderated
from listd.posting.rules.posting_policy import PostingPolicy
from listd.settings import ListSettings

MEMBER = frozenset({Role.SUBSCRIBER})


def make_post(roles: frozenset[Role] = frozenset(), **changes: object) -> Post:
    base = Post(list_address="news@lists.example.org", robot_address="listd@lists.example.org",
                settings=ListSettings(), size=1000, subject="Meeting on Tuesday",
                first_lines=("Hello all,",), message_id="<m@x>", recipient_count=1,
                posters=("jeanne@example.org",), roles=roles)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def with_settings(**values: object) -> ListSettings:
    return dataclasses.replace(ListSettings(), **values)  # type: ignore[arg-type]


def test_rule_names_are_stable_and_unique() -> None:
    assert list(RULES_BY_NAME) == ["banned", "duplicate", "auto-reply", "answer-loop", "emergency",
                                   "administrivia", "max-size", "max-recipients",
                                   "owner-authentication", "moderated", "posting-policy"]


@pytest.mark.parametrize(("posting", "roles", "accepted", "expected"), [
    ("members", MEMBER, False, Decision.ACCEPT),
    ("members", frozenset(), False, Decision.HOLD),
    ("members", frozenset(), True, Decision.ACCEPT),
    ("members", frozenset({Role.OWNER}), False, Decision.ACCEPT),
    ("owners", MEMBER, False, Decision.HOLD),
    ("owners", frozenset({Role.MODERATOR}), False, Decision.ACCEPT),
    ("owners", frozenset({Role.OWNER}), False, Decision.ACCEPT),
    ("anyone", frozenset(), False, Decision.ACCEPT),
])
def test_posting_policy(posting: str, roles: frozenset[Role], accepted: bool,
                        expected: Decision) -> None:
    post = make_post(roles, accepted=accepted, settings=with_settings(posting=posting))
    verdict = PostingPolicy().check(post)
    assert verdict is not None and verdict.decision is expected


@pytest.mark.parametrize(("action", "expected"), [
    ("hold", Decision.HOLD), ("reject", Decision.REJECT), ("discard", Decision.DISCARD)])
def test_the_nonmember_action_is_per_list(action: str, expected: Decision) -> None:
    verdict = PostingPolicy().check(make_post(settings=with_settings(nonmember_action=action)))
    assert verdict is not None and verdict.decision is expected
    assert "jeanne@example.org is not a member" in verdict.reason


def test_moderated_holds_everyone_even_owners() -> None:
    post = make_post(frozenset({Role.OWNER}), settings=with_settings(posting="moderated"))
    verdict = Moderated().check(post)
    assert verdict is not None and verdict.decision is Decision.HOLD
    assert Moderated().check(make_post(MEMBER)) is None


def test_emergency_holds_and_is_off_by_default() -> None:
    assert Emergency().check(make_post(MEMBER)) is None
    verdict = Emergency().check(make_post(MEMBER, settings=with_settings(emergency=True)))
    assert verdict is not None and verdict.decision is Decision.HOLD


def test_size_and_recipient_limits_hold() -> None:
    assert MaxSize().check(make_post(MEMBER)) is None
    big = MaxSize().check(make_post(MEMBER, settings=with_settings(max_message_size=999)))
    assert big is not None and big.decision is Decision.HOLD and "1000 bytes" in big.reason
    assert MaxSize().check(make_post(settings=with_settings(max_message_size=0))) is None
    many = MaxRecipients().check(make_post(MEMBER, recipient_count=11))
    assert many is not None and many.decision is Decision.HOLD
    assert MaxRecipients().check(make_post(MEMBER, recipient_count=10)) is None


def test_banned_duplicate_and_auto_reply_are_discarded() -> None:
    for rule, changes in ((Banned(), {"banned_by": "*@example.org"}),
                          (Duplicate(), {"seen_before": True}),
                          (AutoReply(), {"auto_reply": True})):
        assert rule.check(make_post(MEMBER)) is None
        verdict = rule.check(make_post(MEMBER, **changes))
        assert verdict is not None and verdict.decision is Decision.DISCARD, rule.name


@pytest.mark.parametrize(("subject", "lines", "command"), [
    ("unsubscribe", (), "unsubscribe"),
    ("", ("SUBSCRIBE news Jeanne Dupont",), "subscribe"),
    ("Hello", ("help",), "help"),
    ("", ("Thanks!", "signoff news"), "signoff"),
    ("Re: unsubscribe", ("I agree with Paul about the meeting",), None),
    ("Help with the Tuesday meeting please", ("Who can bring chairs?",), None),
])
def test_administrivia(subject: str, lines: tuple[str, ...], command: str | None) -> None:
    verdict = Administrivia().check(make_post(MEMBER, subject=subject, first_lines=lines))
    if command is None:
        assert verdict is None
    else:
        assert verdict is not None and verdict.decision is Decision.REJECT
        assert command.upper() in verdict.reason and "listd@lists.example.org" in verdict.reason


def test_command_word_counts_words() -> None:
    assert command_word("set news nomail") == "set"
    assert command_word("unsubscribe me from this list please") is None
    assert command_word("Help!") is None


def test_the_first_rule_that_decides_wins() -> None:
    stranger_banned = make_post(banned_by="jeanne@example.org",
                                settings=with_settings(emergency=True))
    assert evaluate(stranger_banned).rule == "banned"
    assert evaluate(make_post(settings=with_settings(emergency=True))).rule == "emergency"
    assert evaluate(make_post(MEMBER, subject="unsubscribe")).rule == "administrivia"
    accepted = evaluate(make_post(MEMBER))
    assert accepted.decision is Decision.ACCEPT
