"""`listd db upgrade`."""

from __future__ import annotations

import click

from listd import migrate
from listd.cli.context import App, pass_app
from listd.deliverability.dkim_keys import ensure_signing_key, publish_instructions
from listd.lists import ensure_domain


@click.group("db")
def command() -> None:
    """The database schema."""


@command.command("upgrade")
@pass_app
def upgrade(app: App) -> None:
    """Create or upgrade the schema to the newest version."""
    app.may_create_database = True
    click.echo(f"using {app.config_in_use}; database {app.config.database}")
    before = migrate.current_revision(app.db.engine)
    migrate.upgrade(app.db.engine)
    created = []
    with app.db.session() as session:
        for name in app.config.domains:
            ensure_domain(session, name)
            if app.config.dkim.sign:
                created.append(ensure_signing_key(session, name, app.config.dkim.selector))
    after = migrate.current_revision(app.db.engine)
    if before is None:
        click.echo(f"created the listd schema (revision {after})")
    elif before != after:
        click.echo(f"upgraded the schema from revision {before} to {after}")
    else:
        click.echo(f"the schema is already up to date (revision {after})")
    for key in created:
        if key is not None:
            click.echo(publish_instructions(key))
