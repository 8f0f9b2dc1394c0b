"""`listd postfix config`."""

from __future__ import annotations

from pathlib import Path

import click

from listd.cli.context import App, pass_app
from listd.errors import UserError
from listd.lists import served_domains
from listd.postfix import RECIPIENT_ACCESS, TRANSPORT_MAP, postfix_config, render


@click.group("postfix")
def command() -> None:
    """Postfix in front of and behind listd."""


@command.command("config")
@click.option("--map-dir", default="/etc/postfix", show_default=True,
              help="Where the two map files go (the main.cf lines name them there).")
@click.option("--write", is_flag=True,
              help="Write the two map files into --map-dir (main.cf is never touched).")
@pass_app
def config(app: App, map_dir: str, write: bool) -> None:
    """Print the main.cf lines, the transport map and the exemption for the served domains."""
    with app.db.session() as session:
        domains = sorted(served_domains(session, app.config))
    result = postfix_config(app.config, domains, map_dir)
    if write:
        _write(Path(map_dir) / TRANSPORT_MAP, result.transport)
        _write(Path(map_dir) / RECIPIENT_ACCESS, result.recipient_access)
    click.echo(render(result, app.config.source))


def _write(path: Path, lines: tuple[str, ...]) -> None:
    try:
        path.write_text("".join(f"{line}\n" for line in lines))
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
