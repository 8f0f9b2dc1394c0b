"""`listd doctor DOMAIN`: is the domain set up so that its list mail gets delivered?"""

from __future__ import annotations

import sys

import click

from listd.cli.context import App, emit, json_option, pass_app
from listd.deliverability import doctor
from listd.deliverability.dkim_keys import active_key, dns_record, public_key_base64
from listd.deliverability.resolver import make_resolver

MARKS = {doctor.Status.OK: "ok", doctor.Status.WARNING: "WARN", doctor.Status.ERROR: "FAIL",
         doctor.Status.SKIPPED: "skip"}


@click.command("doctor")
@click.argument("domain")
@json_option
@pass_app
def command(app: App, domain: str, as_json: bool) -> None:
    """Check DOMAIN's MX, SPF, DKIM, DMARC, reverse DNS and relay; explain each fix."""
    domain = domain.strip().lower().rstrip(".")
    config = app.config
    with app.db.reading() as session:
        key = active_key(session, domain)
        view = (doctor.DkimKeyView(key.selector, key.algorithm, dns_record(key),
                                   public_key_base64(key.private_key))
                if key is not None else None)
    outbound = config.outbound
    relay = doctor.Relay(outbound.host, outbound.port) if outbound.mode == "smtp" else None
    addresses = list(config.doctor.relay_addresses)
    if not addresses and relay is not None:
        addresses = doctor.public_addresses_of(relay.host)
    findings = doctor.diagnose(domain, resolver=make_resolver(config.dns), dkim_key=view,
                               relay=relay, relay_addresses=addresses)
    emit([f.as_dict() for f in findings], as_json, lambda f: (
        f"{MARKS[doctor.Status(f['status'])]:4}  {f['check']:11}  {f['summary']}"
        + (f"\n{'':17}fix: {f['fix']}" if f["fix"] and f["status"] != "ok" else "")))
    if doctor.failed(findings):
        sys.exit(1)
