"""`listd domain add|ls`."""

from __future__ import annotations

import click

from listd.cli.context import App, emit, json_option, pass_app
from listd.deliverability.dkim_keys import ensure_signing_key, publish_instructions
from listd.lists import add_domain, all_lists, served_domains


@click.group("domain")
def command() -> None:
    """The mail domains listd serves."""


@command.command("add")
@click.argument("name")
@pass_app
def add(app: App, name: str) -> None:
    """Serve lists on domain NAME."""
    with app.db.session() as session:
        domain = add_domain(session, name)
        key = (ensure_signing_key(session, domain.name, app.config.dkim.selector)
               if app.config.dkim.sign else None)
        click.echo(f"domain {domain.name} added")
    if key is not None:
        click.echo(publish_instructions(key))


@command.command("ls")
@json_option
@pass_app
def ls(app: App, as_json: bool) -> None:
    """List the served domains."""
    with app.db.session() as session:
        counts: dict[str, int] = {}
        for mailing_list in all_lists(session):
            counts[mailing_list.domain.name] = counts.get(mailing_list.domain.name, 0) + 1
        rows = [{"domain": name, "lists": counts.get(name, 0)}
                for name in sorted(served_domains(session, app.config))]
    emit(rows, as_json, lambda r: f"{r['domain']}  ({r['lists']} lists)",
         empty="no domains yet: add one with 'listd domain add DOMAIN'")
