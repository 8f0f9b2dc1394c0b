"""`listd doctor DOMAIN`: the DNS and relay checks a list domain needs to get its mail delivered.

Each check returns a `Finding` that says, in plain words, what is wrong and how to fix it. The
checks take a resolver and plain values, not the config, so each can be run alone in a test.
"""

from __future__ import annotations

import enum
import ipaddress
import smtplib
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import dns.resolver

from listd.deliverability.dkim_keys import DnsRecord
from listd.deliverability.dmarc import Policy, interpret
from listd.deliverability.resolver import LookupStatus, lookup, reverse_name
from listd.deliverability.spf_check import SpfResult, check_spf, spf_record_present


class Status(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    # Not checked, for want of something to check (the fix says what).
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    summary: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class DkimKeyView:
    """What the doctor needs of the domain's signing key: the record it should find in DNS."""

    selector: str
    algorithm: str
    record: DnsRecord
    public_key: str


@dataclass(frozen=True)
class Relay:
    host: str
    port: int


def diagnose(domain: str, *, resolver: dns.resolver.Resolver, dkim_key: DkimKeyView | None,
             relay: Relay | None, relay_addresses: Sequence[str],
             smtp_timeout: float = 10.0) -> list[Finding]:
    findings = [check_mx(resolver, domain)]
    spf = check_spf_record(resolver, domain, relay_addresses)
    dkim = check_dkim(resolver, domain, dkim_key)
    findings += [spf, dkim, check_dmarc(resolver, domain)]
    findings.append(check_alignment(domain, dkim_ok=dkim.status is Status.OK,
                                    spf_ok=spf.status is Status.OK))
    findings += check_reverse_dns(resolver, relay_addresses)
    findings.append(check_relay(relay, smtp_timeout))
    return findings


def failed(findings: Sequence[Finding]) -> bool:
    return any(f.status is Status.ERROR for f in findings)


def check_mx(resolver: dns.resolver.Resolver, domain: str) -> Finding:
    answer = lookup(resolver, domain, "MX")
    if answer.status is LookupStatus.FAILED:
        return Finding("mx", Status.ERROR, f"the MX lookup of {domain} failed ({answer.error})",
                       "check that the domain's name servers answer")
    hosts = sorted(answer.records)
    if not hosts or hosts == ["0 ."]:
        return Finding("mx", Status.ERROR,
                       f"{domain} has no MX record: mail to its lists cannot arrive, and many "
                       "receivers refuse mail from a domain that cannot receive replies",
                       f"publish an MX record, e.g. `{domain}. IN MX 10 mail.{domain}.`, "
                       "pointing at the MTA in front of listd")
    return Finding("mx", Status.OK, f"{domain} receives mail at {', '.join(hosts)}")


def check_spf_record(resolver: dns.resolver.Resolver, domain: str,
                     relay_addresses: Sequence[str]) -> Finding:
    status, text = spf_record_present(resolver, domain)
    if status is LookupStatus.FAILED:
        return Finding("spf", Status.ERROR, f"the SPF lookup of {domain} failed ({text})",
                       "check that the domain's name servers answer")
    example = " ".join(f"ip{ipaddress.ip_address(a).version}:{a}" for a in relay_addresses)
    if status is LookupStatus.ABSENT:
        return Finding("spf", Status.ERROR,
                       f"{domain} publishes no SPF record: list mail (sent with envelope "
                       f"sender LIST-bounces@{domain}) cannot pass SPF",
                       f'publish `{domain}. IN TXT "v=spf1 {example or "ip4:RELAY-ADDRESS"} '
                       '-all"`')
    if not relay_addresses:
        return Finding("spf", Status.SKIPPED, f"{domain} publishes SPF ({text}); the relay's "
                       "public address is unknown, so its coverage is not checked",
                       "set doctor.relay_addresses to the address(es) your relay sends from")
    uncovered = []
    for address in relay_addresses:
        result, explanation = check_spf(resolver, client_ip=address,
                                        sender=f"postmaster@{domain}", helo=domain)
        if result is not SpfResult.PASS:
            detail = f"{result.value}: {explanation}" if explanation else result.value
            uncovered.append(f"{address} ({detail})")
    if uncovered:
        return Finding("spf", Status.ERROR,
                       f"the SPF record of {domain} ({text}) does not cover the relay: "
                       + ", ".join(uncovered),
                       f"add {example} to the record, before its -all/~all")
    return Finding("spf", Status.OK, f"SPF of {domain} covers the relay ({text})")


def check_dkim(resolver: dns.resolver.Resolver, domain: str,
               key: DkimKeyView | None) -> Finding:
    if key is None:
        return Finding("dkim", Status.ERROR, f"listd has no DKIM key for {domain}: its mail "
                       "goes out unsigned and fails DMARC wherever the list rewrites a post",
                       f"run `listd dkim keygen {domain}` and publish the record it prints")
    name = key.record.name
    answer = lookup(resolver, name, "TXT")
    if answer.status is LookupStatus.FAILED:
        return Finding("dkim", Status.ERROR, f"the lookup of {name} failed ({answer.error})",
                       "check that the domain's name servers answer")
    published = [_tags(r) for r in answer.records if "p=" in r]
    if not published:
        return Finding("dkim", Status.ERROR,
                       f"no DKIM record at {name}: receivers cannot check listd's signatures",
                       f"publish {key.record.zone_line()}")
    for tags in published:
        if "".join(tags.get("p", "").split()) == key.public_key:
            kind = tags.get("k", "rsa").lower()
            if kind != key.algorithm:
                return Finding("dkim", Status.ERROR, f"the record at {name} says k={kind} "
                               f"but the key is {key.algorithm}",
                               f"publish {key.record.zone_line()}")
            return Finding("dkim", Status.OK,
                           f"the DKIM record at {name} matches listd's {key.algorithm} key")
    return Finding("dkim", Status.ERROR, f"the DKIM record at {name} does not match the key "
                   "in listd's database: every signature will fail",
                   f"replace the record with {key.record.zone_line()}")


def check_dmarc(resolver: dns.resolver.Resolver, domain: str) -> Finding:
    answer = lookup(resolver, f"_dmarc.{domain}", "TXT")
    policy = interpret(domain, [answer])
    if policy.policy is Policy.UNKNOWN:
        return Finding("dmarc", Status.ERROR, policy.reason,
                       "check that the domain's name servers answer")
    if policy.record is None:
        return Finding("dmarc", Status.ERROR,
                       f"{domain} publishes no DMARC record: large mailbox providers expect "
                       "one from bulk senders, and mail from the list address (munged "
                       "posts, notices) is judged without it",
                       f'publish `_dmarc.{domain}. IN TXT "v=DMARC1; p=none; '
                       f'rua=mailto:postmaster@{domain}"`, then tighten p= once reports are '
                       "clean")
    return Finding("dmarc", Status.OK, f"{domain} publishes a DMARC record, {policy.reason}")


def check_alignment(domain: str, *, dkim_ok: bool, spf_ok: bool) -> Finding:
    ways = [w for w, ok in (("DKIM (d=" + domain + ")", dkim_ok),
                            ("SPF (LIST-bounces@" + domain + ")", spf_ok)) if ok]
    if ways:
        return Finding("alignment", Status.OK, f"mail From: the list address passes DMARC "
                       f"through {' and '.join(ways)}")
    return Finding("alignment", Status.ERROR, "mail From: the list address cannot pass DMARC: "
                   "neither DKIM nor SPF of the domain works",
                   "fix the DKIM or the SPF finding above (DKIM is the more robust)")


def check_reverse_dns(resolver: dns.resolver.Resolver,
                      relay_addresses: Sequence[str]) -> list[Finding]:
    if not relay_addresses:
        return [Finding("reverse-dns", Status.SKIPPED, "the relay's public address is unknown",
                        "set doctor.relay_addresses to the address(es) your relay sends from")]
    findings = []
    for address in relay_addresses:
        name = reverse_name(address)
        answer = lookup(resolver, name, "PTR")
        if not answer.found:
            findings.append(Finding(
                "reverse-dns", Status.ERROR,
                f"{address} has no reverse DNS (PTR) name: many receivers refuse such mail",
                f"ask the owner of {address} (your host or ISP) for a PTR record naming "
                "the relay, with a matching A/AAAA record"))
            continue
        host = answer.records[0].rstrip(".")
        forward = lookup(resolver, host, "AAAA" if ":" in address else "A")
        if address not in forward.records:
            findings.append(Finding(
                "reverse-dns", Status.ERROR,
                f"{address} is named {host}, but {host} does not point back to {address}",
                f"publish `{host}. IN {'AAAA' if ':' in address else 'A'} {address}`"))
            continue
        findings.append(Finding("reverse-dns", Status.OK, f"{address} is {host}, and back"))
    return findings


def check_relay(relay: Relay | None, timeout: float) -> Finding:
    if relay is None:
        return Finding("relay", Status.SKIPPED, "outbound mode is maildir: no relay to check",
                       "set outbound.mode: smtp and the relay's host and port to send mail")
    where = f"{relay.host}:{relay.port}"
    try:
        with smtplib.SMTP(relay.host, relay.port, timeout=timeout) as client:
            code, _ = client.ehlo()
            if code != 250:
                return Finding("relay", Status.ERROR, f"the relay {where} refuses EHLO ({code})",
                               "check the relay's logs")
    except (OSError, smtplib.SMTPException) as exc:
        text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return Finding("relay", Status.ERROR, f"the relay {where} does not answer SMTP ({text})",
                       "start the MTA, or fix outbound.host and outbound.port")
    return Finding("relay", Status.OK, f"the relay {where} answers SMTP")


def public_addresses_of(host: str) -> list[str]:
    """HOST's addresses when they are public ones, for want of doctor.relay_addresses."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    addresses = dict.fromkeys(str(info[4][0]) for info in infos)
    return [a for a in addresses if ipaddress.ip_address(a).is_global]


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    return tags
