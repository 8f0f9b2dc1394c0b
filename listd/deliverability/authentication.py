"""Who really sent an incoming post: DKIM, SPF and DMARC results, computed or trusted.

For the posting rules (e.g. "hold posts whose From fails DMARC"). From synchronous code,
including inside a database transaction:

    results = verify_incoming(raw, envelope_sender=…, client_ip=…, helo=…, config=config)

It does network I/O (DNS) but never takes longer than `timeout` seconds (default 10): past
that it answers with temperror results rather than hold the transaction open. From the event
loop, use `await verify_incoming_async(…)` (the same work in a thread).

Where the local MTA (Postfix with OpenDKIM/OpenDMARC, rspamd, …) already checked the post and
wrote an Authentication-Results header, listd trusts it when its authserv-id is in
`authentication.trusted_authserv_ids` — the client address listd sees is then the MTA's, so
checking SPF itself would be meaningless.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from typing import Any, Literal

import authres
import dkim
import dns.resolver

from listd.config import Config
from listd.deliverability.dmarc import DmarcResolver, Policy, PolicyLookup
from listd.deliverability.domains import aligned, domain_of
from listd.deliverability.resolver import LookupStatus, lookup, make_resolver
from listd.deliverability.spf_check import SpfResult, check_spf

log = logging.getLogger("listd.deliverability")

DEFAULT_TIMEOUT = 10.0


class DmarcResult(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclass(frozen=True)
class AuthResults:
    from_domain: str
    # The d= domains of the DKIM signatures that verified.
    dkim_pass_domains: tuple[str, ...] = ()
    spf: SpfResult = SpfResult.NONE
    # The domain SPF vouched for (MAIL FROM's, or HELO's for a bounce).
    spf_domain: str = ""
    dmarc: DmarcResult = DmarcResult.NONE
    # Some authenticated domain aligns with From: the post really comes from From's domain.
    aligned: bool = False
    # The ARC chain the post arrived with (pass, fail, none), for sealing.
    arc: str = "none"
    source: Literal["computed", "trusted-header", "timeout"] = "computed"
    # The DMARC policy of From's domain, where it was looked up.
    policy: Policy | None = None
    notes: tuple[str, ...] = field(default=())

    def as_record(self) -> dict[str, Any]:
        """This result as plain JSON values, to store with a post (OutboundMessage)."""
        return {"from_domain": self.from_domain, "dkim_pass_domains": list(self.dkim_pass_domains),
                "spf": self.spf.value, "spf_domain": self.spf_domain, "dmarc": self.dmarc.value,
                "aligned": self.aligned, "arc": self.arc, "source": self.source,
                "policy": self.policy.value if self.policy is not None else None,
                "notes": list(self.notes)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AuthResults:
        policy = record.get("policy")
        return cls(from_domain=str(record.get("from_domain", "")),
                   dkim_pass_domains=tuple(record.get("dkim_pass_domains", ())),
                   spf=_enum(SpfResult, record.get("spf", ""), SpfResult.NONE),
                   spf_domain=str(record.get("spf_domain", "")),
                   dmarc=_enum(DmarcResult, record.get("dmarc", ""), DmarcResult.NONE),
                   aligned=bool(record.get("aligned")), arc=str(record.get("arc", "none")),
                   source=record.get("source", "computed"),
                   policy=_enum(Policy, policy, None) if policy else None,
                   notes=tuple(record.get("notes", ())))

    def header_value(self, authserv_id: str) -> str:
        """This result as the value of an Authentication-Results header (RFC 8601)."""
        parts = [authserv_id]
        parts += [f"dkim=pass header.d={d}" for d in self.dkim_pass_domains]
        if not self.dkim_pass_domains:
            parts.append("dkim=none")
        spf = f"spf={self.spf.value}"
        parts.append(f"{spf} smtp.mailfrom={self.spf_domain}" if self.spf_domain else spf)
        dmarc = f"dmarc={self.dmarc.value}"
        parts.append(f"{dmarc} header.from={self.from_domain}" if self.from_domain else dmarc)
        parts.append(f"arc={self.arc}")
        return "; ".join(parts)


def verify_incoming(raw: bytes, *, envelope_sender: str, client_ip: str | None,
                    helo: str = "", config: Config, dmarc: DmarcResolver | None = None,
                    timeout: float = DEFAULT_TIMEOUT) -> AuthResults:
    """Check RAW as received from CLIENT_IP with MAIL FROM:<ENVELOPE_SENDER>; blocking, bounded
    by TIMEOUT seconds. DMARC lookups go through DMARC (pass the daemon's, to share its cache).
    """
    outcome: list[AuthResults] = []

    def work() -> None:
        try:
            outcome.append(_verify(raw, envelope_sender, client_ip, helo, config, dmarc))
        except Exception:  # ours: log it, and let the caller go on with temperror
            log.exception("verifying an incoming post failed")

    # A thread of its own, so a slow DNS cannot hold the caller past TIMEOUT; it finishes
    # (bounded by the resolver's own timeouts) and its answer is dropped.
    worker = threading.Thread(target=work, name="listd-verify", daemon=True)
    worker.start()
    worker.join(timeout)
    if outcome:
        return outcome[0]
    from_domain = _from_domain(raw) or ""
    return AuthResults(from_domain=from_domain, spf=SpfResult.TEMPERROR,
                       dmarc=DmarcResult.TEMPERROR, source="timeout",
                       notes=(f"checks did not finish within {timeout:g}s",))


async def verify_incoming_async(raw: bytes, *, envelope_sender: str, client_ip: str | None,
                                helo: str = "", config: Config,
                                dmarc: DmarcResolver | None = None,
                                timeout: float = DEFAULT_TIMEOUT) -> AuthResults:
    return await asyncio.to_thread(verify_incoming, raw, envelope_sender=envelope_sender,
                                   client_ip=client_ip, helo=helo, config=config, dmarc=dmarc,
                                   timeout=timeout)


def _verify(raw: bytes, envelope_sender: str, client_ip: str | None, helo: str, config: Config,
            dmarc: DmarcResolver | None) -> AuthResults:
    resolver = make_resolver(config.dns)
    dmarc = dmarc or DmarcResolver(config.dns)
    from_domain = _from_domain(raw)
    if from_domain is None:
        return AuthResults(from_domain="", dmarc=DmarcResult.PERMERROR,
                           notes=("From must hold exactly one address",))
    trusted = trusted_results(raw, config.authentication.trusted_authserv_ids, from_domain)
    if trusted is not None:
        if trusted.dmarc is not DmarcResult.NONE or trusted.notes:
            return trusted
        return _with_dmarc(trusted, dmarc.policy_blocking(from_domain))
    dnsfunc = dkim_dnsfunc(resolver)
    dkim_domains, notes = verify_dkim(raw, dnsfunc)
    spf_domain = domain_of(envelope_sender) if envelope_sender else helo.lower()
    spf_result, explanation = check_spf(resolver, client_ip=client_ip or "",
                                        sender=envelope_sender, helo=helo,
                                        budget=config.dns.timeout * 5)
    try:
        cv, _results, _reason = dkim.arc_verify(raw, dnsfunc=dnsfunc)
        arc = cv.decode() if isinstance(cv, bytes) else str(cv)
    except dkim.DKIMException as exc:
        arc, notes = "fail", (*notes, f"ARC: {exc}")
    results = AuthResults(from_domain=from_domain, dkim_pass_domains=dkim_domains,
                          spf=spf_result, spf_domain=spf_domain, arc=arc,
                          notes=(*notes, f"SPF: {explanation}") if explanation else notes)
    return _with_dmarc(results, dmarc.policy_blocking(from_domain))


def verify_dkim(raw: bytes, dnsfunc: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The domains whose DKIM signatures on RAW verify, and notes on those that do not."""
    passed: list[str] = []
    notes: list[str] = []
    try:
        verifier = dkim.DKIM(raw)
    except dkim.DKIMException as exc:
        return (), (f"DKIM: {exc}",)
    headers, _ = dkim.rfc822_parse(raw)
    count = sum(1 for name, _value in headers if name.lower() == b"dkim-signature")
    for index in range(count):
        try:
            ok = verifier.verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException as exc:
            ok = False
            notes.append(f"DKIM signature {index + 1}: {exc}")
        domain = (verifier.domain or b"").decode("ascii", "replace").lower()
        if ok:
            passed.append(domain)
        elif domain:
            notes.append(f"DKIM signature by {domain} does not verify")
    return tuple(dict.fromkeys(passed)), tuple(notes)


def dkim_dnsfunc(resolver: dns.resolver.Resolver) -> Any:
    """A dnsfunc for dkimpy's verify/arc_verify that asks RESOLVER."""

    def get_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii") if isinstance(name, bytes) else name
        answer = lookup(resolver, text.rstrip("."), "TXT")
        if answer.status is LookupStatus.FAILED:
            raise dkim.DnsTimeoutError(answer.error)
        return answer.records[0].encode("utf-8") if answer.records else None

    return get_txt


def trusted_results(raw: bytes, trusted_ids: tuple[str, ...],
                    from_domain: str) -> AuthResults | None:
    """The results of the topmost Authentication-Results header by a trusted authserv-id."""
    if not trusted_ids:
        return None
    headers, _ = dkim.rfc822_parse(raw)
    for name, value in headers:
        if name.lower() != b"authentication-results":
            continue
        text = " ".join(value.decode("utf-8", "replace").split())
        try:
            parsed = authres.AuthenticationResultsHeader.parse(
                "Authentication-Results: " + text)
        except authres.core.AuthResError:
            continue
        if parsed.authserv_id.lower() not in trusted_ids:
            continue
        return _from_header(parsed, from_domain)
    return None


def _from_header(parsed: Any, from_domain: str) -> AuthResults:
    dkim_domains: list[str] = []
    spf, spf_domain, dmarc, arc = SpfResult.NONE, "", DmarcResult.NONE, "none"
    for result in parsed.results:
        props = {f"{p.type}.{p.name}".lower(): (p.value or "") for p in result.properties}
        outcome = (result.result or "").lower()
        if result.method == "dkim" and outcome == "pass":
            domain = props.get("header.d") or domain_of(props.get("header.i", ""))
            if domain:
                dkim_domains.append(domain.lower())
        elif result.method == "spf":
            spf = _enum(SpfResult, outcome, SpfResult.PERMERROR)
            sender = props.get("smtp.mailfrom") or props.get("smtp.helo", "")
            spf_domain = domain_of(sender) if "@" in sender else sender.lower()
        elif result.method == "dmarc":
            dmarc = _enum(DmarcResult, outcome, DmarcResult.PERMERROR)
        elif result.method == "arc":
            arc = outcome
    dkim_tuple = tuple(dict.fromkeys(dkim_domains))
    is_aligned = dmarc is DmarcResult.PASS or _aligned(from_domain, dkim_tuple, spf,
                                                        spf_domain, None)
    return AuthResults(from_domain=from_domain, dkim_pass_domains=dkim_tuple, spf=spf,
                       spf_domain=spf_domain, dmarc=dmarc, aligned=is_aligned, arc=arc,
                       source="trusted-header")


def _with_dmarc(results: AuthResults, policy: PolicyLookup) -> AuthResults:
    record = policy.record
    is_aligned = _aligned(results.from_domain, results.dkim_pass_domains, results.spf,
                          results.spf_domain, record)
    if policy.policy is Policy.UNKNOWN:
        dmarc = DmarcResult.TEMPERROR
    elif record is None:
        dmarc = DmarcResult.NONE
    else:
        dmarc = DmarcResult.PASS if is_aligned else DmarcResult.FAIL
    return replace(results, dmarc=dmarc, aligned=is_aligned, policy=policy.policy)


def _aligned(from_domain: str, dkim_domains: tuple[str, ...], spf: SpfResult, spf_domain: str,
             record: Any) -> bool:
    strict_dkim = bool(record and record.strict_dkim)
    strict_spf = bool(record and record.strict_spf)
    if any(aligned(d, from_domain, strict=strict_dkim) for d in dkim_domains):
        return True
    return spf is SpfResult.PASS and bool(spf_domain) and aligned(spf_domain, from_domain,
                                                                  strict=strict_spf)


def _from_domain(raw: bytes) -> str | None:
    try:
        headers, _ = dkim.rfc822_parse(raw)
    except dkim.DKIMException:
        return None
    values = [v.decode("utf-8", "replace") for n, v in headers if n.lower() == b"from"]
    addresses = [addr for _name, addr in getaddresses(values) if addr]
    if len(values) != 1 or len(addresses) != 1:
        return None
    return domain_of(addresses[0])


def _enum(kind: Any, value: str, default: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return default
