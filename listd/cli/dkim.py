"""`listd dkim keygen DOMAIN`: a new signing key in the database, and the DNS record to publish."""

from __future__ import annotations

import click

from listd.cli.context import App, emit, json_option, pass_app
from listd.deliverability.dkim_keys import Algorithm, create_key, dns_record
from listd.errors import UserError
from listd.lists import served_domains


@click.group("dkim")
def command() -> None:
    """DKIM signing keys of the served domains."""


@command.command("keygen")
@click.argument("domain")
@click.option("--selector", help="DNS selector of the key (default: dkim.selector, 'listd').")
@click.option("--algorithm", type=click.Choice([a.value for a in Algorithm]), default="rsa",
              show_default=True, help="rsa (2048 bits, understood everywhere) or ed25519.")
@json_option
@pass_app
def keygen(app: App, domain: str, selector: str | None, algorithm: str, as_json: bool) -> None:
    """Generate DOMAIN's signing key and print the TXT record to publish."""
    domain = domain.strip().lower().rstrip(".")
    with app.db.session() as session:
        if domain not in served_domains(session, app.config):
            raise UserError(f"listd does not serve {domain}; add it first (listd domain add)")
        key = create_key(session, domain, selector or app.config.dkim.selector,
                         Algorithm(algorithm))
        record = dns_record(key)
        row = {"domain": key.domain, "selector": key.selector, "algorithm": key.algorithm,
               "name": record.name, "value": record.value, "strings": list(record.strings)}
    emit(row, as_json, lambda r: (
        f"DKIM key {r['selector']} ({r['algorithm']}) stored for {r['domain']}; it signs from "
        f"now on, so publish this TXT record now (then check with `listd doctor "
        f"{r['domain']}`):\n\n{record.zone_line()}\n"))
