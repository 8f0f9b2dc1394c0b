"""Organizational domains (RFC 7489 3.2), by a small heuristic instead of the Public Suffix List.

listd only needs them for relaxed DMARC alignment and for the DMARC policy fallback, where a
wrong guess errs towards the safe side: two-label domains (example.org) and three-label ones
under a known second-level public suffix (example.co.uk, example.com.au) are organizational.
"""

from __future__ import annotations

# Second-level labels that, under a two-letter country code, are public suffixes themselves.
PUBLIC_SECOND_LEVELS = frozenset({
    "ac", "co", "com", "edu", "gov", "gob", "govt", "mil", "ne", "net", "or", "org", "nic",
    "ltd", "plc", "sch", "nhs", "police", "gv", "go", "in", "nom", "asso", "gouv",
})


def organizational_domain(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    if len(labels) <= 2:
        return ".".join(labels)
    keep = 3 if len(labels[-1]) == 2 and labels[-2] in PUBLIC_SECOND_LEVELS else 2
    return ".".join(labels[-keep:])


def aligned(domain: str, from_domain: str, *, strict: bool) -> bool:
    """Whether an authenticated DOMAIN (DKIM d=, SPF MAIL FROM) aligns with the From domain."""
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".>")
