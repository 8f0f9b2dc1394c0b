"""`listd webhook add|ls|remove`: where listd POSTs its events."""

from __future__ import annotations

import click

from listd.api import webhooks
from listd.api.events import Event
from listd.cli.context import App, emit, json_option, pass_app


@click.group("webhook")
def command() -> None:
    """HTTP endpoints that receive listd's events, signed (see the README)."""


@command.command("add")
@click.argument("url")
@click.option("--list", "lists", multiple=True, metavar="LIST@DOMAIN",
              help="Only events of this list (repeat for several); none: every list.")
@click.option("--event", "events", multiple=True, type=click.Choice([e.value for e in Event]),
              help="Only this event (repeat for several); none: every event.")
@pass_app
def add(app: App, url: str, lists: tuple[str, ...], events: tuple[str, ...]) -> None:
    """Send events to URL; prints the secret that signs them."""
    with app.db.session() as session:
        webhook = webhooks.add_webhook(session, url, lists, events)
        ident, secret = webhook.id, webhook.secret
    click.echo(f"webhook {ident} added for {url}; its signing secret:", err=True)
    click.echo(secret)


@command.command("ls")
@json_option
@pass_app
def ls(app: App, as_json: bool) -> None:
    """The webhooks, with their lists and events."""
    with app.db.session() as session:
        rows = [webhooks.describe_webhook(w) for w in webhooks.list_webhooks(session)]
    if not rows and not as_json:
        click.echo("no webhooks")
        return
    emit(rows, as_json, lambda r: f"#{r['id']:<4} {r['url']}  lists: {_names(r['lists'])}  "
                                  f"events: {_names(r['events'])}")


def _names(value: str | list[str]) -> str:
    return value if isinstance(value, str) else ", ".join(value)


@command.command("remove")
@click.argument("webhook")
@pass_app
def remove(app: App, webhook: str) -> None:
    """Remove WEBHOOK (its id or its URL); its queued events go with it."""
    with app.db.session() as session:
        webhooks.remove_webhook(session, webhook)
    click.echo(f"webhook {webhook} removed")
