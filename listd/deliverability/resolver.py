"""DNS lookups as typed answers, through the resolvers the config names (`dns:` section).

Every deliverability check asks DNS through here, so tests can point all of them at a DNS
server of their own, and a failure (timeout, SERVFAIL) is told apart from "no such record":
the first must lead to a safe fallback, the second is an answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename

from listd.config import DnsConfig

# No usable answer: the resolver failed, or NAME cannot even be asked (a From: domain that is
# not valid IDNA, an empty or overlong label). Each is a FAILED answer, never an exception
# escaping into a lookup thread, so the caller gets its answer at once instead of its timeout.
UNANSWERABLE = (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.YXDOMAIN,
                dns.resolver.NoResolverConfiguration, dns.name.EmptyLabel,
                dns.name.LabelTooLong, dns.name.NameTooLong, dns.name.IDNAException,
                UnicodeError)

# How long "no such record" is remembered when the answer carries no SOA to say so.
DEFAULT_NEGATIVE_TTL = 300


class LookupStatus(enum.StrEnum):
    FOUND = "found"
    # The name does not exist, or has no record of that type: a definite answer.
    ABSENT = "absent"
    # No usable answer (timeout, SERVFAIL, refused): nothing can be concluded.
    FAILED = "failed"


@dataclass(frozen=True)
class Answer:
    name: str
    rdtype: str
    status: LookupStatus
    # Each record in presentation form; TXT records joined from their strings (RFC 7208 3.3).
    records: tuple[str, ...] = ()
    ttl: int = 0
    error: str = ""

    @property
    def found(self) -> bool:
        return self.status is LookupStatus.FOUND


def _configure(resolver: dns.resolver.BaseResolver, config: DnsConfig) -> None:
    if config.nameservers:
        resolver.nameservers = list(config.nameservers)
        resolver.port = config.port
    resolver.timeout = config.timeout
    resolver.lifetime = config.timeout
    # dnspython's own cache would hide TTL handling from us; the callers cache what they need.
    resolver.cache = None


def make_resolver(config: DnsConfig) -> dns.resolver.Resolver:
    """A blocking resolver for CLI commands and code running in worker threads."""
    resolver = dns.resolver.Resolver(configure=not config.nameservers)
    _configure(resolver, config)
    return resolver


def make_async_resolver(config: DnsConfig) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=not config.nameservers)
    _configure(resolver, config)
    return resolver


def lookup(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> Answer:
    try:
        result = resolver.resolve(name, rdtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
        return _absent(name, rdtype, exc)
    except UNANSWERABLE as exc:
        return Answer(name, rdtype, LookupStatus.FAILED, error=_describe(exc))
    return _found(name, rdtype, result)


async def lookup_async(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> Answer:
    try:
        result = await resolver.resolve(name, rdtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
        return _absent(name, rdtype, exc)
    except UNANSWERABLE as exc:
        return Answer(name, rdtype, LookupStatus.FAILED, error=_describe(exc))
    return _found(name, rdtype, result)


def reverse_name(address: str) -> str:
    return dns.reversename.from_address(address).to_text(omit_final_dot=True)


def _found(name: str, rdtype: str, result: dns.resolver.Answer) -> Answer:
    rrset = result.rrset
    assert rrset is not None
    if rdtype.upper() == "TXT":
        records = tuple(b"".join(r.strings).decode("utf-8", "replace") for r in rrset)
    else:
        records = tuple(r.to_text() for r in rrset)
    return Answer(name, rdtype, LookupStatus.FOUND, records, ttl=rrset.ttl)


def _absent(name: str, rdtype: str, exc: Exception) -> Answer:
    ttl = DEFAULT_NEGATIVE_TTL
    # RFC 2308: a negative answer lives as long as the SOA's minimum in its authority section.
    responses = exc.kwargs.get("responses") if isinstance(exc, dns.resolver.NXDOMAIN) else None
    response = (next(iter(responses.values()), None) if responses
                else exc.kwargs.get("response") if isinstance(exc, dns.resolver.NoAnswer)
                else None)
    if response is not None:
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                ttl = min(rrset.ttl, rrset[0].minimum)
    return Answer(name, rdtype, LookupStatus.ABSENT, ttl=ttl,
                  error="no such name" if isinstance(exc, dns.resolver.NXDOMAIN)
                  else "no record of that type")


def _describe(exc: Exception) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "DNS timeout"
    if isinstance(exc, dns.name.IDNAException | UnicodeError):
        return f"not a valid domain name (IDNA): {exc}"
    return f"DNS failure: {exc}"
