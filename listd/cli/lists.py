"""`listd list request|approve|reject|close|reopen|delete|ls|show|set`."""

from __future__ import annotations

from typing import TextIO

import click

from listd import lifecycle, list_texts, lists
from listd.cli import patterns
from listd.cli.context import App, emit, json_option, pass_app
from listd.errors import UserError
from listd.models import ListStatus


@click.group("list")
def command() -> None:
    """Mailing lists: request, approve, inspect, configure."""


@command.command("request")
@click.argument("address")
@click.option("--owner", "owners", multiple=True, required=True, help="An owner's address.")
@click.option("--template", default="discussion", show_default=True,
              help="The list template (newsletter, discussion, moderated, private, …).")
@click.option("--subject", default="", help="A one-line description of the list.")
@pass_app
def request(app: App, address: str, owners: tuple[str, ...], template: str,
            subject: str) -> None:
    """Create list ADDRESS, pending until a listmaster approves it."""
    with app.db.session() as session:
        created = lifecycle.request_list(session, app.config, address, owners, template,
                                         subject)
        click.echo(f"list {created.address} requested (template {template}); "
                   f"it waits for a listmaster's approval (the listmasters were notified)")


def _transition_command(name: str, verb: str, action: lists.Transition) -> None:
    @command.command(name, help=f"{verb.capitalize()} list ADDRESS.")
    @click.argument("address")
    @pass_app
    def run(app: App, address: str) -> None:
        with app.db.session() as session:
            changed = action(session, address)
            click.echo(f"list {changed.address} is now {changed.status.value}")


_transition_command("close", "close (keeping its data)", lists.close_list)
_transition_command("reopen", "reopen (a closed list takes mail again)", lists.reopen_list)


@command.command("delete")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Really delete: members, held posts and queue go.")
@click.option("--purge", is_flag=True, help="Also drop the record of the mail it received.")
@pass_app
def delete(app: App, address: str, yes: bool, purge: bool) -> None:
    """Delete list ADDRESS with its members, held posts and outbound queue."""
    with app.db.session() as session:
        if not yes:
            contents = lists.list_contents(session, address)
            raise UserError(f"deleting {contents.address} removes its {contents.describe()}; "
                            "run again with --yes")
        deleted = lists.delete_list(session, address, purge=purge)
    click.echo(f"list {deleted.address} deleted with its {deleted.describe()}")


@command.command("approve")
@click.argument("address")
@pass_app
def approve(app: App, address: str) -> None:
    """Approve pending list ADDRESS; the requester and the owners are told."""
    with app.db.session() as session:
        changed = lifecycle.approve_list_request(session, app.config, address)
        click.echo(f"list {changed.address} is now {changed.status.value}")


@command.command("reject")
@click.argument("address")
@click.option("--reason", default=None, help="Told to the requester and the owners.")
@pass_app
def reject(app: App, address: str, reason: str | None) -> None:
    """Refuse pending list ADDRESS; the requester and the owners are told."""
    with app.db.session() as session:
        changed = lifecycle.reject_list_request(session, app.config, address, reason=reason)
        click.echo(f"list {changed.address} is now {changed.status.value}")


@command.command("ls")
@click.option("--pending", is_flag=True, help="Only lists waiting for approval.")
@json_option
@pass_app
def ls(app: App, pending: bool, as_json: bool) -> None:
    """List the lists."""
    with app.db.session() as session:
        found = lists.all_lists(session, [ListStatus.PENDING] if pending else None)
        rows = [{"address": m.address, "status": m.status.value, "template": m.template,
                 "subject": m.subject} for m in found]
    emit(rows, as_json, lambda r: f"{r['address']:40} {r['status']:9} {r['template']:12} "
                                  f"{r['subject']}",
         empty="no pending lists" if pending else "no lists yet")


@command.command("show")
@click.argument("address")
@json_option
@pass_app
def show(app: App, address: str, as_json: bool) -> None:
    """Show a list's state, owners and settings."""
    from listd.distribute.render import ListView, footer_text

    with app.db.session() as session:
        mailing_list = lists.find_list(session, address)
        info = lists.describe_list(session, mailing_list)
        # What posts actually carry, not the stored override (None, "").
        info["footer_as_sent"] = footer_text(ListView.of(mailing_list, app.config), False)

    def render(row: dict[str, object]) -> str:
        settings = row.pop("settings")
        footer = str(row.pop("footer_as_sent"))
        lines = [f"{key}: {value}" for key, value in row.items()]
        lines.append("settings:")
        lines += [f"  {key}: {value}" for key, value in settings.items()]  # type: ignore[attr-defined]
        lines.append("footer, as posts carry it:")
        lines += [f"  | {line}" for line in footer.splitlines()]
        return "\n".join(lines)

    emit(info, as_json, render)


@command.command("set")
@click.argument("address")
@click.argument("key")
@click.argument("value")
@pass_app
def set_(app: App, address: str, key: str, value: str) -> None:
    """Set list ADDRESS's setting KEY to VALUE (checked against the allowed values)."""
    with app.db.session() as session:
        changed = lists.set_list_setting(session, address, key, value)
        click.echo(f"{changed.address}: {key} set")


@command.command("text")
@click.argument("address")
@click.argument("name")
@click.argument("source", required=False, type=click.File("r", encoding="utf-8"))
@click.option("--show", is_flag=True, help="Print the text the list uses now.")
@click.option("--reset", is_flag=True, help="Back to listd's own text.")
@pass_app
def text(app: App, address: str, name: str, source: TextIO | None, show: bool,
         reset: bool) -> None:
    """Set list ADDRESS's text NAME (welcome, goodbye, info, footer, header, reminder) from
    SOURCE, a file or - for standard input; an empty welcome or goodbye turns that mail off."""
    if sum((show, reset, source is not None)) != 1:
        raise UserError("give one of FILE (or -), --show, --reset")
    with app.db.session() as session:
        if show:
            mailing_list = lists.find_list(session, address)
            list_texts.editable(name)
            current = list_texts.stored(mailing_list, name)
            click.echo(current if current is not None else f"(listd's own {name} text)")
            return
        changed = lists.set_list_text(session, address, name,
                                      None if reset else source.read() if source else "")
        click.echo(f"{changed.address}: {name} text " + ("reset" if reset else "set"))


for _pattern_command in patterns.COMMANDS:
    command.add_command(_pattern_command)
