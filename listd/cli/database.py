"""`listd db upgrade`."""

from __future__ import annotations

import click

from listd import migrate
from listd.cli.context import App, pass_app
from listd.lists import ensure_domain


@click.group("db")
def command() -> None:
    """The database schema."""


@command.command("upgrade")
@pass_app
def upgrade(app: App) -> None:
    """Create or upgrade the schema to the newest version."""
    migrate.upgrade(app.db.engine)
    with app.db.session() as session:
        for name in app.config.domains:
            ensure_domain(session, name)
    click.echo("database schema is up to date")
