"""DMARC: a poster's domain policy, whether a post needs mitigation, and the mitigation itself.

A list that resends a post unchanged From a domain with p=reject or p=quarantine gets its mail
refused or filed as spam: the list's own changes (subject prefix, footer) break the author's
DKIM signature, and the list's server is not in the author's SPF. listd rewrites such posts so
they are from the list instead (`munge_from`), or wraps them whole in a message from the list
(`wrap`). Distribution calls, per post:

    lookup = await dmarc_resolver.policy(domain_of(poster))
    mitigation = decide(lookup, settings.dmarc_mitigation, config.dmarc.always_domains,
                        always=config.dmarc.always)
    if mitigation.applies:
        message = mitigate(message, list_address=…, list_display_name=…,
                           mode=mitigation.mode, reply_policy=settings.reply_to)
"""

from __future__ import annotations

import copy
import enum
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal

import dns.asyncresolver
import dns.resolver

from listd.config import DnsConfig
from listd.deliverability.domains import ascii_domain, organizational_domain
from listd.deliverability.resolver import (
    Answer,
    LookupStatus,
    lookup,
    lookup_async,
    make_async_resolver,
    make_resolver,
)
from listd.i18n import SOURCE_LANGUAGE, translate

log = logging.getLogger("listd.deliverability")

# A failed lookup is retried after this many seconds, not after a record's TTL.
FAILURE_CACHE_SECONDS = 30.0
# At most this many names are tried walking up from the poster's domain to its org domain.
MAX_WALK = 4

MitigationMode = Literal["none", "munge_from", "wrap"]
ReplyPolicy = Literal["poster", "list"]


class Policy(enum.StrEnum):
    NONE = "none"
    QUARANTINE = "quarantine"
    REJECT = "reject"
    # The lookup failed: nobody knows what the domain asks for.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DmarcRecord:
    policy: Policy
    subdomain_policy: Policy
    strict_dkim: bool = False
    strict_spf: bool = False
    percent: int = 100


@dataclass(frozen=True)
class PolicyLookup:
    """What the poster's domain publishes, where it was found, and in words why."""

    domain: str
    policy: Policy
    reason: str
    record: DmarcRecord | None = None
    # The name the record was found at (_dmarc.<org domain> when inherited), if any.
    found_at: str | None = None
    ttl: float = 0.0


def parse_record(text: str) -> DmarcRecord | None:
    """A DMARC record (RFC 7489 6.3), or None if TEXT is not one."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    if tags.get("v") != "DMARC1" or not text.strip().startswith("v"):
        return None
    policy = _policy(tags.get("p"))
    if policy is None:
        # RFC 7489 6.6.3: a record without a valid p= but with rua= counts as p=none.
        if "rua" not in tags:
            return None
        policy = Policy.NONE
    try:
        percent = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        percent = 100
    return DmarcRecord(policy=policy, subdomain_policy=_policy(tags.get("sp")) or policy,
                       strict_dkim=tags.get("adkim", "r").lower() == "s",
                       strict_spf=tags.get("aspf", "r").lower() == "s", percent=percent)


def _policy(value: str | None) -> Policy | None:
    try:
        chosen = Policy((value or "").lower())
    except ValueError:
        return None
    return None if chosen is Policy.UNKNOWN else chosen


def candidate_names(domain: str) -> list[str]:
    """The names to try, the domain first, then up to its organizational domain."""
    domain = ascii_domain(domain)
    organizational = organizational_domain(domain)
    names = [domain]
    labels = domain.split(".")
    while len(labels) > 1 and ".".join(labels) != organizational and len(names) < MAX_WALK:
        labels = labels[1:]
        names.append(".".join(labels))
    if organizational not in names:
        names.append(organizational)
    return names


def interpret(domain: str, answers: Sequence[Answer]) -> PolicyLookup:
    """The policy that ANSWERS (for _dmarc.<each candidate>, in order) give DOMAIN."""
    for answer in answers:
        if answer.status is LookupStatus.FAILED:
            return PolicyLookup(domain, Policy.UNKNOWN,
                                f"DMARC lookup of {answer.name} failed: {answer.error}",
                                ttl=FAILURE_CACHE_SECONDS)
        records = [r for r in (parse_record(text) for text in answer.records) if r is not None]
        if len(records) > 1:
            # RFC 7489 6.6.3: several records mean none applies.
            return PolicyLookup(domain, Policy.NONE, f"{answer.name} has several DMARC "
                                "records, so none applies", ttl=answer.ttl)
        if records:
            record = records[0]
            inherited = answer.name != f"_dmarc.{domain}"
            policy = record.subdomain_policy if inherited else record.policy
            where = f"inherited from {answer.name}" if inherited else f"at {answer.name}"
            return PolicyLookup(domain, policy, f"p={policy.value} ({where})", record=record,
                                found_at=answer.name, ttl=answer.ttl)
    ttl = min((a.ttl for a in answers), default=0)
    return PolicyLookup(domain, Policy.NONE, f"{domain} publishes no DMARC record", ttl=ttl)


class DmarcResolver:
    """Policy lookups with an in-memory cache that keeps each answer for its DNS TTL.

    One per process (the daemon builds it from the config and hands it to distribution).
    """

    def __init__(self, config: DnsConfig, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._cache: dict[str, tuple[float, PolicyLookup]] = {}
        self._async: dns.asyncresolver.Resolver | None = None
        self._blocking: dns.resolver.Resolver | None = None

    async def policy(self, domain: str) -> PolicyLookup:
        domain = domain.lower().rstrip(".")
        cached = self._cached(domain)
        if cached is not None:
            return cached
        if self._async is None:
            self._async = make_async_resolver(self.config)
        resolver = self._async
        return self._remember(await _walk(domain, lambda name: lookup_async(resolver, name,
                                                                           "TXT")))

    def policy_blocking(self, domain: str) -> PolicyLookup:
        """The same lookup for synchronous callers (worker threads, the CLI)."""
        domain = domain.lower().rstrip(".")
        cached = self._cached(domain)
        if cached is not None:
            return cached
        if self._blocking is None:
            self._blocking = make_resolver(self.config)
        answers = []
        for name in candidate_names(domain):
            answer = lookup(self._blocking, f"_dmarc.{name}", "TXT")
            answers.append(answer)
            if answer.status is not LookupStatus.ABSENT:
                break
        return self._remember(interpret(domain, answers))

    def policy_within(self, domain: str, timeout: float) -> PolicyLookup:
        """policy_blocking, but never longer than TIMEOUT seconds in all (a walk up to the org
        domain is several lookups): past it the policy is UNKNOWN, which callers treat as the
        strictest. The lookup goes on in its thread and its answer is cached for next time."""
        domain = domain.lower().rstrip(".")
        cached = self._cached(domain)
        if cached is not None:
            return cached
        outcome: list[PolicyLookup] = []
        worker = threading.Thread(target=lambda: outcome.append(self.policy_blocking(domain)),
                                  name="listd-dmarc", daemon=True)
        worker.start()
        worker.join(timeout)
        if outcome:
            return outcome[0]
        return PolicyLookup(domain, Policy.UNKNOWN,
                            f"the DMARC lookup did not finish within {timeout:g}s")

    def _cached(self, domain: str) -> PolicyLookup | None:
        entry = self._cache.get(domain)
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        return None

    def _remember(self, result: PolicyLookup) -> PolicyLookup:
        if result.policy is Policy.UNKNOWN:
            log.warning("DMARC policy of %s unknown: %s", result.domain, result.reason)
        self._cache[result.domain] = (self.clock() + result.ttl, result)
        return result


async def _walk(domain: str, ask: Callable[[str], Awaitable[Answer]]) -> PolicyLookup:
    answers = []
    for name in candidate_names(domain):
        answer = await ask(f"_dmarc.{name}")
        answers.append(answer)
        if answer.status is not LookupStatus.ABSENT:
            break
    return interpret(domain, answers)


# --- deciding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mitigation:
    mode: MitigationMode
    reason: str

    @property
    def applies(self) -> bool:
        return self.mode != "none"


def decide(policy: PolicyLookup, list_setting: MitigationMode, always_domains: Sequence[str],
           *, always: bool = False) -> Mitigation:
    """Whether and how to mitigate a post, given its author domain's policy and the list's
    dmarc_mitigation setting. A failed lookup is treated as p=reject: mitigating a post that
    did not need it costs a rewritten From, not mitigating one that did costs the delivery."""
    if list_setting == "none":
        return Mitigation("none", "the list's dmarc_mitigation is none")
    domain = policy.domain
    if always:
        return Mitigation(list_setting, "the site mitigates every post (dmarc.always)")
    if any(domain == d or domain.endswith("." + d) for d in always_domains):
        return Mitigation(list_setting, f"{domain} is in dmarc.always_domains")
    if policy.policy is Policy.UNKNOWN:
        log.warning("mitigating the post from %s since its DMARC policy is unknown: %s",
                    domain, policy.reason)
        return Mitigation(list_setting, f"DMARC policy unknown ({policy.reason}); "
                          "mitigating to be safe")
    if policy.policy in (Policy.QUARANTINE, Policy.REJECT):
        return Mitigation(list_setting, f"{domain} publishes {policy.reason}")
    return Mitigation("none", f"{domain}: {policy.reason}")


# --- mitigating ---------------------------------------------------------------------------


def mitigate(message: EmailMessage, *, list_address: str, list_display_name: str,
             mode: MitigationMode, reply_policy: ReplyPolicy,
             language: str = SOURCE_LANGUAGE) -> EmailMessage:
    """A copy of MESSAGE made safe to resend from the list (MESSAGE itself is not changed).

    munge_from: From becomes "Poster via List" <list@domain>; the poster stays reachable
    through Reply-To (reply_policy "poster") or Cc (reply_policy "list", with Reply-To the list).
    wrap: a new message from the list whose only part is the original post, intact, as
    message/rfc822 — the author's DKIM signature keeps verifying inside it.
    """
    if mode == "none":
        return copy.deepcopy(message)
    posters = [Address(display_name=name, addr_spec=addr)
               for name, addr in getaddresses([str(v) for v in message.get_all("From", [])])
               if addr]
    poster = posters[0] if posters else None
    new_from = Address(display_name=_via(poster, list_display_name, language),
                       addr_spec=list_address)
    if mode == "munge_from":
        result = copy.deepcopy(message)
        _replace(result, "From", str(new_from))
        _route_replies(result, message, poster, list_address, reply_policy)
        return result
    if mode == "wrap":
        return _wrap(message, new_from, poster, list_address, reply_policy)
    raise ValueError(f"unknown DMARC mitigation mode {mode!r}")


def _via(poster: Address | None, list_display_name: str, language: str) -> str:
    if poster is None:
        return list_display_name
    who = poster.display_name or poster.addr_spec.replace(
        "@", translate(language, " at "))
    return translate(language, "{poster} via {list}", poster=who, list=list_display_name)


def _route_replies(result: EmailMessage, original: EmailMessage, poster: Address | None,
                   list_address: str, reply_policy: ReplyPolicy) -> None:
    if poster is None:
        return
    if reply_policy == "poster":
        # The poster's own Reply-To, if any, already says where answers should go.
        if original.get("Reply-To") is None:
            _replace(result, "Reply-To", str(poster))
        return
    _replace(result, "Reply-To", list_address)
    cc = [str(v) for v in original.get_all("Cc", [])]
    already = {addr.lower() for _name, addr in getaddresses(cc)}
    if poster.addr_spec.lower() not in already:
        _replace(result, "Cc", ", ".join([*cc, str(poster)]))


# Headers the wrapper copies from the post, so it threads and reads like the post.
WRAPPER_COPIES = ("To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References")


def _wrap(message: EmailMessage, new_from: Address, poster: Address | None,
          list_address: str, reply_policy: ReplyPolicy) -> EmailMessage:
    outer = EmailMessage()
    outer["From"] = str(new_from)
    for name in WRAPPER_COPIES:
        value = message.get(name)
        if value is not None:
            outer[name] = str(value)
    outer["MIME-Version"] = "1.0"
    outer.set_content(copy.deepcopy(message), disposition="inline")
    outer.make_mixed()
    _route_replies(outer, message, poster, list_address, reply_policy)
    return outer


def _replace(message: EmailMessage, name: str, value: str) -> None:
    del message[name]
    message[name] = value
