"""DMARC mitigation of an accepted post, before it is rendered for the list.

The poster's domain policy is looked up through the daemon's resolver (cached for the record's
TTL; a lookup is bounded by the DNS time the caller has left, at most `dns.timeout`). The
inbound worker does this before its write transaction, never inside it.
A failed or slow lookup counts as p=reject: mitigating a post that did not need
it costs a rewritten From, not mitigating one that did costs its delivery.
"""

from __future__ import annotations

import logging
from email.utils import getaddresses

from listd.config import Config
from listd.deliverability.dmarc import DmarcResolver, Policy, PolicyLookup, decide, mitigate
from listd.deliverability.domains import domain_of
from listd.distribute.render import WRITE_POLICY, ListView, parse

log = logging.getLogger("listd.distribute")


def mitigated(raw: bytes, view: ListView, resolver: DmarcResolver, config: Config, *,
              dns_timeout: float | None = None) -> bytes:
    """RAW as the list may resend it: unchanged, From munged, or wrapped (dmarc_mitigation).
    The policy lookup waits DNS_TIMEOUT seconds at most (default dns.timeout)."""
    setting = view.settings.dmarc_mitigation
    message = parse(raw)
    message_id = str(message.get("Message-ID", "")).strip() or "(no Message-ID)"
    if setting == "none":
        log.info("%s: DMARC mitigation off for %s", message_id, view.address())
        return raw
    domain = _author_domain([str(v) for v in message.get_all("From", [])])
    if domain is None:
        lookup = PolicyLookup("", Policy.UNKNOWN, "From does not name exactly one author")
    else:
        lookup = resolver.policy_within(
            domain, config.dns.timeout if dns_timeout is None else dns_timeout)
    mitigation = decide(lookup, setting, config.dmarc.always_domains, always=config.dmarc.always)
    log.info("%s: DMARC %s for %s (%s)", message_id, mitigation.mode, view.address(),
             mitigation.reason)
    if not mitigation.applies:
        return raw
    result = mitigate(message, list_address=view.address(),
                      list_display_name=view.description or view.name, mode=mitigation.mode,
                      reply_policy=view.settings.reply_to, language=view.language)
    return result.as_bytes(policy=WRITE_POLICY)


def _author_domain(values: list[str]) -> str | None:
    addresses = [addr for _name, addr in getaddresses(values) if "@" in addr]
    return domain_of(addresses[0]) if len(addresses) == 1 else None
