"""`listd bounce classify [FILE]`: what listd reads in a non-delivery report, as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from listd.bounce import classify_message, report_json


@click.group("bounce")
def command() -> None:
    """Bounce reports and members' bounce scores."""


@command.command("classify")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True),
              help="Classify every *.eml file in DIR instead: one JSON line each, with 'file'.")
def classify(source: click.utils.LazyFile, directory: str | None) -> None:
    """Print one JSON object: is it a bounce, and which recipients failed, how and why."""
    if directory:
        for path in sorted(Path(directory).glob("*.eml")):
            found = report_json(classify_message(path.read_bytes()))
            click.echo(json.dumps({**found, "file": path.name}, ensure_ascii=False))
        return
    click.echo(json.dumps(report_json(classify_message(source.read())), ensure_ascii=False))
