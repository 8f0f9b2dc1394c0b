"""What every CLI command gets: the config and the database, built once and on demand."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from listd.config import Config, load_config
from listd.errors import UserError

if TYPE_CHECKING:
    from listd.database import Database


@dataclass
class App:
    config_path: str | None
    _config: Config | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    # Only `db upgrade` may create a database; any other command finding none says so.
    may_create_database: bool = False

    @property
    def db(self) -> Database:
        if self._db is None:
            # Imported here: commands that need no database (bounce classify) start faster.
            from listd.database import Database

            if not self.may_create_database:
                _refuse_missing_sqlite(self.config)
            self._db = Database(self.config.database)
        return self._db

    @property
    def config_in_use(self) -> str:
        return describe_config(self.config)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def describe_config(config: Config) -> str:
    if config.source == "(defaults)":
        return ("no config file (none given with --config or LISTD_CONFIG, no conf/listd.yaml "
                "here): the built-in defaults")
    return f"config file {config.source}"


def sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _refuse_missing_sqlite(config: Config) -> None:
    path = sqlite_path(config.database)
    if path is not None and not path.exists():
        raise UserError(f"no database at {path.resolve()} ({describe_config(config)}); "
                        "run 'listd db upgrade' to create it")


pass_app = click.make_pass_decorator(App)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def emit(rows: Sequence[dict[str, Any]] | dict[str, Any], as_json: bool,
         render: Callable[[Any], str], empty: str = "nothing to show") -> None:
    """Print RESULT as JSON, or as lines made by RENDER for a person (EMPTY when none)."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo(empty)
        return
    items = [rows] if isinstance(rows, dict) else rows
    for item in items:
        click.echo(render(item))


def emit_stream(rows: Iterable[dict[str, Any]], as_json: bool, render: Callable[[Any], str],
                empty: str = "nothing to show", chunk: int = 1000) -> None:
    """Print ROWS as they come, CHUNK lines a write: memory stays flat however many there are.
    As JSON, one array with an object a line (the C encoder: indenting is pure Python, and
    a write per row cost more than reading the rows)."""
    lines: list[str] = []
    count = 0
    for count, row in enumerate(rows, start=1):
        if as_json:
            lines.append(("[\n" if count == 1 else ",\n")
                         + json.dumps(row, ensure_ascii=False, default=str))
        else:
            lines.append(render(row) + "\n")
        if len(lines) >= chunk:
            click.echo("".join(lines), nl=False)
            lines.clear()
    if as_json:
        lines.append("\n]\n" if count else "[]\n")
    elif not count:
        lines.append(empty + "\n")
    click.echo("".join(lines), nl=False)
