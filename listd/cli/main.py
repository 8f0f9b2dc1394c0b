"""`listd [--config FILE] COMMAND`: an error the admin can fix is one line and a non-zero exit."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from listd.cli.context import App
from listd.config import ConfigError
from listd.errors import UserError

EXIT_ERROR = 1

# Each command group's module, imported only when that command runs: `listd bounce classify`
# must not pay for the web stack and the database layer at every start.
COMMANDS = {
    "db": "listd.cli.database",
    "domain": "listd.cli.domain",
    "list": "listd.cli.lists",
    "member": "listd.cli.member",
    "held": "listd.cli.held",
    "inbound": "listd.cli.inbound",
    "queue": "listd.cli.queue",
    "bounce": "listd.cli.bounce",
    "inject": "listd.cli.inject",
    "serve": "listd.cli.serve",
    "dkim": "listd.cli.dkim",
    "doctor": "listd.cli.doctor",
    "api-key": "listd.cli.api_key",
    "webhook": "listd.cli.webhook",
    "postfix": "listd.cli.postfix",
    "import": "listd.cli.importer",
    "digest": "listd.cli.digest",
    "archive": "listd.cli.archive",
    "suppression": "listd.cli.suppression",
    "post": "listd.cli.post",
}


class ListdGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        command: click.Command = importlib.import_module(module).command
        return command

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Usage errors too are one line `listd: error: …` and exit 1, as every other error."""
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "listd"
            fail(f"{exc.format_message().rstrip('.')} (see '{where} --help')")
        except click.ClickException as exc:
            fail(exc.format_message())
        except click.Abort:
            fail("aborted")
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (UserError, ConfigError) as exc:
            fail(str(exc))
        except Exception as exc:
            # Only a database error can be of these types, and then SQLAlchemy is loaded.
            from sqlalchemy.exc import OperationalError, ProgrammingError

            if not isinstance(exc, (OperationalError, ProgrammingError)):
                raise
            text = str(exc.orig) if exc.orig is not None else str(exc)
            if "no such table" in text or "does not exist" in text:
                # The database's own words say which table (or type, or column) it missed.
                fail("the database has no listd schema yet, or an older one "
                     f"({text.strip().splitlines()[0]}); run 'listd db upgrade'")
            fail(f"database error: {text.strip().splitlines()[0]}")
        finally:
            app = ctx.find_object(App)
            if app is not None:
                app.close()


def fail(message: str) -> None:
    click.echo(f"listd: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(cls=ListdGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="listd", prog_name="listd", message="%(prog)s %(version)s")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="LISTD_CONFIG",
              help="The YAML config file (default: $LISTD_CONFIG, else conf/listd.yaml).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """listd, the mailing-list server."""
    ctx.obj = App(config_path)


def main() -> None:
    cli(prog_name="listd")
