"""`listd api-key add|ls|revoke`: keys for the REST API."""

from __future__ import annotations

import click

from listd.api import keys
from listd.cli.context import App, emit, json_option, pass_app


@click.group("api-key")
def command() -> None:
    """Keys for the REST API under /api/v1."""


@command.command("add")
@click.argument("name")
@click.option("--list", "lists", multiple=True, metavar="LIST@DOMAIN",
              help="A list the key may act on (repeat for several); none: site-wide.")
@pass_app
def add(app: App, name: str, lists: tuple[str, ...]) -> None:
    """Create key NAME and print it: it is shown this once, only its hash is kept."""
    with app.db.session() as session:
        key = keys.add_key(session, name, lists)
    scope = ", ".join(lists) if lists else "site-wide"
    click.echo(f"API key {name} ({scope}); keep it now, it is not shown again:", err=True)
    click.echo(key)


@command.command("ls")
@json_option
@pass_app
def ls(app: App, as_json: bool) -> None:
    """The keys: name, scope, created, last used."""
    with app.db.session() as session:
        rows = [keys.describe_key(k) for k in keys.list_keys(session)]
    if not rows and not as_json:
        click.echo("no API keys")
        return
    emit(rows, as_json, lambda r: (
        f"{r['name']:20} {'revoked' if r['revoked'] else 'active':8} "
        f"{r['scope'] if isinstance(r['scope'], str) else ','.join(r['scope'])}  "
        f"created {r['created_at']}, last used {r['last_used_at'] or 'never'}"))


@command.command("revoke")
@click.argument("name")
@pass_app
def revoke(app: App, name: str) -> None:
    """Revoke key NAME at once: every later request with it gets 401."""
    with app.db.session() as session:
        keys.revoke_key(session, name)
    click.echo(f"API key {name} revoked")
