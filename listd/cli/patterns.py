"""`listd list ban|unban|accept|unaccept|patterns`: a list's address patterns.

The accept list names non-members who may post without being held; the ban list, addresses
whose posts are discarded. A pattern is an address, a glob (`*@spam.example`) or, starting
with `^`, a regular expression (posting/patterns.py).
"""

from __future__ import annotations

import click

from listd.cli.context import App, emit, json_option, pass_app
from listd.lists import find_list
from listd.posting.patterns import PatternKind, add_pattern, list_patterns, remove_pattern


def _change(name: str, kind: PatternKind, adding: bool, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("address", metavar="LIST@DOMAIN")
    @click.argument("pattern")
    @pass_app
    def run(app: App, address: str, pattern: str) -> None:
        with app.db.session() as session:
            mailing_list = find_list(session, address)
            if adding:
                pattern = add_pattern(session, mailing_list, kind, pattern)
            else:
                remove_pattern(session, mailing_list, kind, pattern)
            list_address = mailing_list.address
        verb = "added to" if adding else "removed from"
        click.echo(f"{pattern} {verb} the {kind.value} list of {list_address}")

    return run


ban = _change("ban", PatternKind.BAN, True,
              "Discard posts to LIST@DOMAIN from addresses matching PATTERN.")
unban = _change("unban", PatternKind.BAN, False, "Remove PATTERN from the ban list.")
accept = _change("accept", PatternKind.ACCEPT, True,
                 "Let non-members matching PATTERN post to LIST@DOMAIN without being held.")
unaccept = _change("unaccept", PatternKind.ACCEPT, False, "Remove PATTERN from the accept list.")


@click.command("patterns")
@click.argument("address", metavar="LIST@DOMAIN")
@json_option
@pass_app
def patterns(app: App, address: str, as_json: bool) -> None:
    """Show the accept and ban patterns of LIST@DOMAIN."""
    with app.db.session() as session:
        rows = [{"kind": p.kind, "pattern": p.pattern}
                for p in list_patterns(session, find_list(session, address))]
    if not rows and not as_json:
        click.echo("no patterns")
        return
    emit(rows, as_json, lambda r: f"{r['kind']:7} {r['pattern']}")


COMMANDS = (ban, unban, accept, unaccept, patterns)
