"""`listd archive export|import|remove`."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from listd.archive.mbox import export_mbox, import_mbox
from listd.archive.store import remove_message
from listd.cli.context import App, pass_app
from listd.lists import find_list


@click.group("archive")
def command() -> None:
    """A list's archive: mbox export and import, takedown."""


@command.command("export")
@click.argument("address")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def export(app: App, address: str, file: Path | None) -> None:
    """Write the archive of ADDRESS as an mbox to FILE (default: standard output)."""
    with app.db.reading() as session:
        mailing_list = find_list(session, address)
        if file is not None:
            count = export_mbox(session, mailing_list, file)
            click.echo(f"{count} messages written to {file}", err=True)
            return
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "archive.mbox"
            count = export_mbox(session, mailing_list, path)
            sys.stdout.buffer.write(path.read_bytes())
            sys.stdout.flush()


@command.command("import")
@click.argument("address")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def import_(app: App, address: str, file: Path) -> None:
    """Add the messages of mbox FILE to the archive of ADDRESS (once per Message-ID)."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        report = import_mbox(session, mailing_list, file)
    click.echo(f"{report.added} imported, {report.already} already archived")


@command.command("remove")
@click.argument("address")
@click.argument("message_id", metavar="MESSAGE-ID")
@pass_app
def remove(app: App, address: str, message_id: str) -> None:
    """Take MESSAGE-ID out of the archive of ADDRESS."""
    with app.db.session() as session:
        mailing_list = find_list(session, address)
        number = remove_message(session, mailing_list, message_id)
    click.echo(f"message #{number} removed from the archive of {address}")
