"""`listd import sympa DIR | mailman3 FILE`: move a list in from another server."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import click

from listd.cli.context import App, pass_app
from listd.importers.apply import ImportOutcome, create_imported_list
from listd.importers.mailman3 import read_export
from listd.importers.model import ImportedList
from listd.importers.sympa import read_list


@click.group("import")
def command() -> None:
    """Create a list from another list server's (Sympa, Mailman 3)."""


@command.command("sympa")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--domain", help="The list's domain, when its config has no 'host'.")
@pass_app
def sympa(app: App, directory: Path, domain: str | None) -> None:
    """DIRECTORY is a Sympa list directory: its config file and a subscribers dump."""
    _create(app, read_list(directory, domain))


@command.command("mailman3")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@pass_app
def mailman3(app: App, source: IO[str]) -> None:
    """SOURCE is Mailman 3's REST JSON: {"list": …, "members": …, "settings": …}."""
    _create(app, read_export(source.read()))


def _create(app: App, imported: ImportedList) -> None:
    with app.db.session() as session:
        outcome = create_imported_list(session, app.config, imported)
    _report(outcome)


def _report(outcome: ImportOutcome) -> None:
    click.echo(f"list {outcome.address} created and active: {outcome.owners} owners, "
               f"{outcome.moderators} moderators, {outcome.subscribers} subscribers")
    for setting in outcome.settings:
        click.echo(f"  set {setting}")
    for line in outcome.report:
        click.echo(f"  not imported: {line}")
