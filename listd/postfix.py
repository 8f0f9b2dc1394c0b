"""`listd postfix config`: the Postfix side of a deployment, for the current configuration.

Postfix in front hands list mail to listd (transport map) and checks recipients with
reject_unverified_recipient. Two things that check must not do: probe every VERP and
confirmation address (one probe and one cache entry per bounce; a burst of DSNs is deferred
with 450 4.1.1), and keep a closed list "verified" for 31 days, so that listd refuses after
DATA and Postfix sends the poster a backscatter DSN. Pure: the caller passes the domains in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from listd.addresses import AddressKind, scheme_local_part
from listd.config import Config

TRANSPORT_MAP = "listd_transport"
RECIPIENT_ACCESS = "listd_recipient_access"
# A verified list address is checked again after an hour at most, and a closed list is
# refused at the MX within the hour; an unknown one is retried after ten minutes, so a newly
# approved list takes mail soon.
VERIFY_CACHE = (
    ("address_verify_positive_expire_time", "1h"),
    ("address_verify_positive_refresh_time", "30m"),
    ("address_verify_negative_expire_time", "1h"),
    ("address_verify_negative_refresh_time", "10m"),
)


@dataclass(frozen=True)
class PostfixConfig:
    main_cf: tuple[tuple[str, str], ...]
    transport: tuple[str, ...]
    recipient_access: tuple[str, ...]
    map_dir: PurePosixPath
    notes: tuple[str, ...]


def next_hop(config: Config) -> str:
    settings = config.smtp_in
    if settings.lmtp:
        return f"lmtp:inet:{settings.host}:{settings.port}"
    return f"smtp:[{settings.host}]:{settings.port}"


def token_exemption(domains: list[str]) -> str:
    """A regexp map line: VERP bounces and confirmations are never probed, only accepted."""
    kinds = "|".join(re.escape(scheme_local_part("", kind)[1:])
                     for kind in (AddressKind.BOUNCES, AddressKind.CONFIRM))
    served = "|".join(re.escape(d) for d in domains)
    return f"/^[^@]+-({kinds})\\+[^@]*@({served})$/ OK"


def postfix_config(config: Config, domains: list[str], map_dir: str) -> PostfixConfig:
    directory = PurePosixPath(map_dir)
    restrictions = ", ".join(("reject_unauth_destination",
                              f"check_recipient_access regexp:{directory / RECIPIENT_ACCESS}",
                              "reject_unverified_recipient"))
    main_cf = (
        ("relay_domains", ", ".join(domains)),
        ("transport_maps", f"hash:{directory / TRANSPORT_MAP}"),
        ("smtpd_recipient_restrictions", restrictions),
        # listd answers an unknown address with 550: a definite no should reach the sender.
        ("unverified_recipient_reject_code", "550"),
        *VERIFY_CACHE,
    )
    return PostfixConfig(main_cf=main_cf,
                         transport=tuple(f"{d} {next_hop(config)}" for d in domains),
                         recipient_access=(token_exemption(domains),) if domains else (),
                         map_dir=directory, notes=_notes(config, domains))


def _notes(config: Config, domains: list[str]) -> tuple[str, ...]:
    notes = []
    if not domains:
        notes.append("listd serves no domain yet: add one with 'listd domain add DOMAIN'")
    if not config.smtp_in.lmtp:
        notes.append("smtp_in.lmtp is false: Postfix hands mail over SMTP; 'lmtp: true' "
                     "gives one answer per recipient")
    if config.outbound.mode != "smtp":
        notes.append(f"outbound.mode is {config.outbound.mode}: listd writes its mail to a "
                     "Maildir; set outbound: {mode: smtp, host: 127.0.0.1, port: 25} to send "
                     "through this Postfix")
    return tuple(notes)


def render(result: PostfixConfig, source: str) -> str:
    transport = result.map_dir / TRANSPORT_MAP
    access = result.map_dir / RECIPIENT_ACCESS
    lines = [f"# listd postfix config, for {source}"]
    lines += [f"# note: {note}" for note in result.notes]
    lines += ["", "# --- main.cf (or: postconf -e 'NAME = VALUE' for each line) ---"]
    lines += [f"{name} = {value}" for name, value in result.main_cf]
    lines += ["", f"# --- {transport} (then: postmap {transport}) ---", *result.transport]
    lines += ["", f"# --- {access} (a regexp map: no postmap) ---", *result.recipient_access]
    lines += ["", "# then: postfix reload"]
    return "\n".join(lines)
