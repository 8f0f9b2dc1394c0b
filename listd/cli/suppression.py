"""`listd suppression ls|add|remove`: the site-wide list of addresses no list adds again."""

from __future__ import annotations

import click

from listd import audit, suppression
from listd.cli.context import App, emit, json_option, pass_app
from listd.models import SuppressionReason


@click.group("suppression")
def command() -> None:
    """Addresses that complained, bounced away or asked to be forgotten."""


@command.command("ls")
@json_option
@pass_app
def ls(app: App, as_json: bool) -> None:
    """Every suppressed address, with why and since when."""
    with app.db.reading() as session:
        rows = [suppression.describe(e) for e in suppression.entries(session)]
    emit(rows, as_json, lambda r: f"{r['address']:40} {r['reason']:10} {r['since']}  "
                                  f"{r['list'] or ''} {r['note']}".rstrip())


@command.command("add")
@click.argument("address")
@click.option("--reason", type=click.Choice([r.value for r in SuppressionReason]),
              default=SuppressionReason.LISTMASTER.value, show_default=True,
              help="Why the address may not be added again.")
@click.option("--note", default="", help="A note for the record.")
@pass_app
def add(app: App, address: str, reason: str, note: str) -> None:
    """Put ADDRESS on the suppression list (it stays on the lists it is already on)."""
    with app.db.session() as session:
        entry = suppression.suppress(session, address, SuppressionReason(reason),
                                     actor=audit.CLI_ACTOR, note=note)
        click.echo(f"{entry.address} is suppressed ({suppression.why(entry)})")


@command.command("remove")
@click.argument("address")
@pass_app
def remove(app: App, address: str) -> None:
    """Take ADDRESS off the suppression list (only with the person's new consent)."""
    with app.db.session() as session:
        entry = suppression.lift(session, address, actor=audit.CLI_ACTOR,
                                 why_lifted="removed by the listmaster")
        click.echo(f"{entry.address} is no longer suppressed")
