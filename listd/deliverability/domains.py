"""Organizational domains (RFC 7489 3.2) by the Public Suffix List, and DMARC alignment.

The list comes with the `publicsuffixlist` package (no network at run time), both its ICANN
and its private section: `victim.github.io` and `attacker.github.io` are two organizations,
as `victim.me.uk` and `attacker.me.uk` are. A guess by label counts would make the second
name "align" with the first and let a signature by the attacker pass DMARC for the victim.

Names are compared as A-labels (`xn--…`): a DKIM d= is always ASCII, while a From: domain may
arrive in Unicode (SMTPUTF8).
"""

from __future__ import annotations

from functools import cache

import dns.name
from publicsuffixlist import PublicSuffixList


@cache
def _suffixes() -> PublicSuffixList:
    # A TLD missing from the list (a new one, a test's .example) counts as a public suffix,
    # as RFC 7489 asks for names the list does not know.
    return PublicSuffixList(accept_unknown=True)


def ascii_domain(domain: str) -> str:
    """DOMAIN lower-cased, without the final dot, in A-labels; unchanged if not valid IDNA
    (then it can only ever equal itself)."""
    domain = domain.strip().lower().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return dns.name.from_unicode(domain).to_text(omit_final_dot=True).lower()
    except (dns.name.IDNAException, dns.name.EmptyLabel, dns.name.LabelTooLong,
            dns.name.NameTooLong, UnicodeError):
        return domain


def organizational_domain(domain: str) -> str:
    """The registered domain DOMAIN belongs to: its public suffix plus one label. A public
    suffix itself (co.uk), or a single label, is its own organizational domain."""
    domain = ascii_domain(domain)
    return _suffixes().privatesuffix(domain) or domain


def aligned(domain: str, from_domain: str, *, strict: bool) -> bool:
    """Whether an authenticated DOMAIN (DKIM d=, SPF MAIL FROM) aligns with the From domain."""
    domain, from_domain = ascii_domain(domain), ascii_domain(from_domain)
    if not domain or not from_domain:
        return False
    if strict:
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".>")
