"""The owner-authentication rule alone: a pure function of a Post."""

from __future__ import annotations

from listd.deliverability.authentication import AuthResults, DmarcResult
from listd.deliverability.spf_check import SpfResult
from listd.models import Role
from listd.posting.decision import Decision
from listd.posting.post import Post
from listd.posting.rules.owner_authentication import OwnerAuthentication
from listd.settings import ListSettings

RULE = OwnerAuthentication()
ON = ListSettings(require_owner_authentication=True)


def owner_post(settings: ListSettings = ON, authentication: AuthResults | None = None,
               claims_owner: bool = True) -> Post:
    return Post(list_address="news@lists.example.org", robot_address="listd@lists.example.org",
                settings=settings, size=100, posters=("owner@example.org",),
                roles=frozenset({Role.OWNER}), claims_owner=claims_owner,
                authentication=authentication)


def test_off_by_default_and_silent_for_other_posters() -> None:
    assert RULE.check(owner_post(settings=ListSettings())) is None
    assert RULE.check(owner_post(claims_owner=False)) is None


def test_an_owner_from_without_aligned_authentication_is_held() -> None:
    verdict = RULE.check(owner_post())
    assert verdict is not None and verdict.decision is Decision.HOLD
    assert "no authentication results" in verdict.reason
    failing = AuthResults(from_domain="example.org", spf=SpfResult.FAIL,
                          dmarc=DmarcResult.FAIL, aligned=False)
    verdict = RULE.check(owner_post(authentication=failing))
    assert verdict is not None and "SPF fail, DMARC fail" in verdict.reason
    # Aligned, but for another domain than the owner's address: not the owner's.
    other = AuthResults(from_domain="elsewhere.example", dkim_pass_domains=("elsewhere.example",),
                        aligned=True)
    assert RULE.check(owner_post(authentication=other)) is not None


def test_an_aligned_pass_lets_the_owner_through() -> None:
    passing = AuthResults(from_domain="example.org", dkim_pass_domains=("example.org",),
                          dmarc=DmarcResult.PASS, aligned=True)
    assert RULE.check(owner_post(authentication=passing)) is None
