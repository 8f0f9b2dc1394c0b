"""`listd [--config FILE] COMMAND`: an error the admin can fix is one line and a non-zero exit."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from listd.cli import (
    bounce,
    database,
    dkim,
    doctor,
    domain,
    held,
    inject,
    lists,
    member,
    queue,
    serve,
)
from listd.cli.context import App
from listd.config import ConfigError
from listd.database import DatabaseError
from listd.errors import UserError

EXIT_ERROR = 1


class ListdGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (UserError, ConfigError, DatabaseError) as exc:
            fail(str(exc))
        except (OperationalError, ProgrammingError) as exc:
            text = str(exc.orig) if exc.orig is not None else str(exc)
            if "no such table" in text or "does not exist" in text:
                fail("the database has no listd schema yet; run 'listd db upgrade'")
            fail(f"database error: {text.strip().splitlines()[0]}")
        finally:
            app = ctx.find_object(App)
            if app is not None:
                app.close()


def fail(message: str) -> None:
    click.echo(f"listd: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(cls=ListdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="LISTD_CONFIG",
              help="The YAML config file (default: $LISTD_CONFIG, else conf/listd.yaml).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """listd, the mailing-list server."""
    ctx.obj = App(config_path)


for module in (database, domain, lists, member, queue, serve, inject, held, bounce, dkim,
               doctor):
    cli.add_command(module.command)


def main() -> None:
    cli(prog_name="listd")
