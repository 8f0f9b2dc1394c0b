"""Organizational domains by the Public Suffix List, and relaxed/strict DMARC alignment."""

from __future__ import annotations

import pytest

from listd.deliverability.dmarc import candidate_names
from listd.deliverability.domains import aligned, organizational_domain

ORGANIZATIONAL = [
    ("example.org", "example.org"),
    ("mail.lists.example.org", "example.org"),
    ("example.co.uk", "example.co.uk"),
    ("a.b.example.co.uk", "example.co.uk"),
    ("victim.me.uk", "victim.me.uk"),
    ("attacker.me.uk", "attacker.me.uk"),
    ("mail.victim.me.uk", "victim.me.uk"),
    ("shop.example.com.au", "example.com.au"),
    ("www.city.kawasaki.jp", "city.kawasaki.jp"),
    ("news.example.org.br", "example.org.br"),
    ("a.b.c.example.gov.uk", "example.gov.uk"),
    # The list's private section: each customer of a hosting suffix is its own organization.
    ("victim.github.io", "victim.github.io"),
    ("www.victim.github.io", "victim.github.io"),
    ("shop.blogspot.com", "shop.blogspot.com"),
    # IDN, in Unicode or in A-labels, compared as A-labels.
    ("mail.bücher.de", "xn--bcher-kva.de"),
    ("mail.xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("news.例え.jp", "xn--r8jz45g.jp"),
    ("Mail.Example.ORG.", "example.org"),
    # A public suffix is its own organizational domain; an unknown TLD is a public suffix.
    ("co.uk", "co.uk"),
    ("lists.example", "lists.example"),
    ("a.lists.example", "lists.example"),
]


@pytest.mark.parametrize(("domain", "expected"), ORGANIZATIONAL)
def test_organizational_domains_follow_the_public_suffix_list(domain: str,
                                                               expected: str) -> None:
    assert organizational_domain(domain) == expected


ALIGNMENT = [
    # (authenticated domain, From domain, relaxed, strict)
    ("example.org", "example.org", True, True),
    ("mail.example.org", "example.org", True, False),
    ("example.org", "news.example.org", True, False),
    ("attacker.me.uk", "victim.me.uk", False, False),
    ("attacker.co.uk", "victim.co.uk", False, False),
    ("attacker.com.au", "victim.com.au", False, False),
    ("attacker.github.io", "victim.github.io", False, False),
    ("me.uk", "victim.me.uk", False, False),
    ("xn--bcher-kva.de", "news.bücher.de", True, False),
    ("xn--bcher-kva.de", "bücher.de", True, True),
    ("example.org", "example.net", False, False),
    ("", "example.org", False, False),
]


@pytest.mark.parametrize(("domain", "from_domain", "relaxed", "strict"), ALIGNMENT)
def test_alignment(domain: str, from_domain: str, relaxed: bool, strict: bool) -> None:
    assert aligned(domain, from_domain, strict=False) is relaxed
    assert aligned(domain, from_domain, strict=True) is strict


def test_the_policy_walk_stops_at_the_organizational_domain() -> None:
    assert candidate_names("a.b.victim.me.uk") == ["a.b.victim.me.uk", "b.victim.me.uk",
                                                    "victim.me.uk"]
    assert candidate_names("news.bücher.de") == ["news.xn--bcher-kva.de", "xn--bcher-kva.de"]
