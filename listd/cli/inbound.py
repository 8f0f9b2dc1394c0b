"""`listd inbound ls|retry`: received mail, and mail shunted by a failure of ours (unshunt)."""

from __future__ import annotations

import click

from listd.cli.context import App, emit, json_option, pass_app
from listd.errors import UserError
from listd.processing import shunt
from listd.runtime import Runtime


@click.group("inbound")
def command() -> None:
    """Received mail and its processing; shunted mail, and retrying it."""


@command.command("ls")
@click.option("--failed", is_flag=True, help="Only mail shunted by a failure of listd's.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1),
              help="Show at most this many, newest first.")
@json_option
@pass_app
def ls(app: App, failed: bool, limit: int, as_json: bool) -> None:
    """List received mail, newest first, with how its processing ended."""
    with app.db.session() as session:
        rows = [{"id": v.id, "state": v.state,
                 "received_at": v.received_at.isoformat(timespec="seconds"),
                 "sender": v.sender, "recipient": v.recipient, "destination": v.destination,
                 "attempts": v.attempts, "outcome": v.outcome}
                for v in shunt.listing(session, failed_only=failed, limit=limit)]
    if not rows and not as_json:
        click.echo("no shunted mail" if failed else "no inbound mail")
        return
    emit(rows, as_json, lambda r: f"#{r['id']:<6} {r['state']:9} {r['received_at']} "
                                  f"<{r['sender']}> -> {r['recipient']}: {r['outcome']}")


@command.command("retry")
@click.argument("inbound_id", metavar="ID", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Every shunted mail.")
@pass_app
def retry(app: App, inbound_id: int | None, every: bool) -> None:
    """Process shunted mail ID (or --all) again; a running `listd serve` picks it up."""
    if (inbound_id is None) == (not every):
        raise UserError("give either an inbound ID or --all")
    runtime = Runtime.create(app.config, app.db)
    with app.db.session() as session:
        retried = shunt.retry(session, runtime, "cli", None if every else inbound_id)
    click.echo(f"queued again: {', '.join(f'#{i}' for i in retried)}" if retried
               else "no shunted mail")
