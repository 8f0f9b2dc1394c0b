"""`listd bounce classify|ls|reset`.

The database-backed commands import their modules when they run: `classify` is run once per
message by scripts and the corpus benchmark, and must start fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import click

from listd.bounce import classify_message, report_json
from listd.cli.context import App, emit, json_option, pass_app


@click.group("bounce")
def command() -> None:
    """Bounce reports and members' bounce scores."""


@command.command("classify")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True),
              help="Classify every *.eml file in DIR instead: one JSON line each, with 'file'.")
def classify(source: IO[bytes], directory: str | None) -> None:
    """Print one JSON object: is it a bounce, and which recipients failed, how and why."""
    if directory:
        for path in sorted(Path(directory).glob("*.eml")):
            found = report_json(classify_message(path.read_bytes()))
            click.echo(json.dumps({**found, "file": path.name}, ensure_ascii=False))
        return
    click.echo(json.dumps(report_json(classify_message(source.read())), ensure_ascii=False))


@command.command("ls")
@click.argument("address")
@click.option("--reports", is_flag=True,
              help="Instead: the latest reports that changed nothing (not proven to be about "
                   "a copy sent to the member, or not the recipient's complaint), and why.")
@json_option
@pass_app
def ls(app: App, address: str, reports: bool, as_json: bool) -> None:
    """Members of list ADDRESS with a bounce score: score, last bounce, reason, status."""
    from listd.bounce.admin import bouncing_members, unacted_reports

    with app.db.session() as session:
        if reports:
            found = unacted_reports(session, address)
            emit(found, as_json, lambda r: f"{r['received']:19} {r['address']:40} "
                                           f"{r['kind']:9} {r['reason'] or '-':14} {r['effect']}")
            return
        rows = bouncing_members(session, address)
    emit(rows, as_json, lambda r: f"{r['address']:40} score {r['score']:<4g} {r['status']:9} "
                                  f"last {r['last_bounce'] or '-':19} {r['reason'] or ''}",
         empty=f"no member of {address} has a bounce score")


@command.command("reset")
@click.argument("address")
@click.argument("member_address", metavar="ADDR")
@pass_app
def reset(app: App, address: str, member_address: str) -> None:
    """Clear ADDR's bounce score on list ADDRESS and resume delivery to it."""
    from listd.audit import CLI_ACTOR
    from listd.bounce.admin import reset_member

    with app.db.session() as session:
        cleared = reset_member(session, address, member_address, CLI_ACTOR)
    click.echo(f"{cleared}: bounce score cleared, delivery resumed")
