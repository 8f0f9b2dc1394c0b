"""SPF (RFC 7208) through pyspf, with DNS asked through listd's configured resolver.

pyspf looks names up through a module-level function; `ConfiguredSpfQuery` overrides its one
DNS entry point instead, so no global is patched and each check uses the resolver it is given.
"""

from __future__ import annotations

import enum
from typing import Any

import dns.resolver
import spf

from listd.deliverability.resolver import LookupStatus, lookup

# RFC 7208 4.6.4: the whole check should give up after about 20 seconds.
DEFAULT_BUDGET_SECONDS = 20.0


class SpfResult(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


class ConfiguredSpfQuery(spf.query):
    def __init__(self, resolver: dns.resolver.Resolver, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resolver = resolver

    def dns(self, name: Any, qtype: str, cnames: Any = None,
            ignore_void: bool = False) -> list[Any]:
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        key = (name, qtype)
        if key not in self.cache:
            self.cache[key] = self._ask(name, qtype)
        result: list[Any] = self.cache[key]
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result

    def _ask(self, name: str, qtype: str) -> list[Any]:
        # The values take the shapes pyspf's own DNSLookup gives them.
        try:
            answer = self.resolver.resolve(name, qtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except Exception as exc:  # timeouts, SERVFAIL: pyspf turns this into temperror
            raise spf.TempError(f"DNS {exc}") from None
        values: list[Any] = []
        for rdata in answer:
            if qtype in ("A", "AAAA"):
                values.append(rdata.address)
            elif qtype == "MX":
                values.append((rdata.preference, rdata.exchange))
            elif qtype == "PTR":
                values.append(rdata.target.to_text(True))
            elif qtype in ("TXT", "SPF"):
                values.append(rdata.strings)
        return values


def check_spf(resolver: dns.resolver.Resolver, *, client_ip: str, sender: str, helo: str,
              budget: float = DEFAULT_BUDGET_SECONDS) -> tuple[SpfResult, str]:
    """The SPF result for a client sending MAIL FROM:<SENDER> (HELO HELO), and its explanation.

    An empty SENDER (a bounce) is checked as postmaster@HELO, as RFC 7208 2.4 says.
    """
    identity = sender or (f"postmaster@{helo}" if helo else "")
    if not identity or not client_ip:
        return SpfResult.NONE, "no identity to check"
    query = ConfiguredSpfQuery(resolver, i=client_ip, s=identity, h=helo or identity,
                               timeout=resolver.lifetime, querytime=budget)
    result, _code, explanation = query.check()
    try:
        return SpfResult(result), explanation
    except ValueError:
        return SpfResult.PERMERROR, f"unexpected SPF result {result!r}"


def spf_record_present(resolver: dns.resolver.Resolver, domain: str) -> tuple[LookupStatus, str]:
    """The domain's SPF record text, for `listd doctor`."""
    answer = lookup(resolver, domain, "TXT")
    for record in answer.records:
        if record.lower().startswith("v=spf1"):
            return LookupStatus.FOUND, record
    if answer.status is LookupStatus.FAILED:
        return LookupStatus.FAILED, answer.error
    return LookupStatus.ABSENT, ""
