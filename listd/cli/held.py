"""`listd held ls|approve|reject|discard`: the moderation queue from the command line."""

from __future__ import annotations

from typing import Any

import click

from listd.cli.context import App, emit, json_option, pass_app
from listd.lists import find_list
from listd.models import MailingList
from listd.posting import moderation
from listd.runtime import Runtime


@click.group("held")
def command() -> None:
    """Posts waiting for a moderator."""


@command.command("ls")
@click.argument("address", required=False)
@json_option
@pass_app
def ls(app: App, address: str | None, as_json: bool) -> None:
    """List held posts, of every list or of list ADDRESS."""
    with app.db.session() as session:
        only = find_list(session, address) if address else None
        rows = []
        for held in moderation.pending(session, only):
            mailing_list = session.get(MailingList, held.list_id)
            assert mailing_list is not None
            rows.append(moderation.describe_held(held, mailing_list))
    if not rows and not as_json:
        click.echo("no held posts")
        return
    emit(rows, as_json, lambda r: f"#{r['id']:<6} {r['list']:30} {r['sender']:30} "
                                  f"{r['subject']!r} ({r['reason']})")


reason_option = click.option("--reason", default=None,
                             help="Recorded; for reject, also sent to the poster.")


def _decide(app: App, held_id: int, decide: Any, **options: Any) -> None:
    runtime = Runtime.create(app.config, app.db)
    with app.db.session() as session:
        held = moderation.find_held(session, held_id)
        decided = decide(session, runtime, held, actor="cli", **options)
    click.echo(f"held post #{decided.held_id} to {decided.list_address} from {decided.sender} "
               f"is now {decided.state.value}")


@command.command("approve")
@click.argument("held_id", metavar="ID", type=int)
@reason_option
@click.option("--accept-sender", is_flag=True,
              help="Also let the poster post from now on without being held.")
@pass_app
def approve(app: App, held_id: int, reason: str | None, accept_sender: bool) -> None:
    """Distribute held post ID."""
    _decide(app, held_id, moderation.approve_held, reason=reason, accept_sender=accept_sender)


@command.command("reject")
@click.argument("held_id", metavar="ID", type=int)
@reason_option
@pass_app
def reject(app: App, held_id: int, reason: str | None) -> None:
    """Refuse held post ID; the poster is told, with the reason."""
    _decide(app, held_id, moderation.reject_held, reason=reason)


@command.command("discard")
@click.argument("held_id", metavar="ID", type=int)
@reason_option
@pass_app
def discard(app: App, held_id: int, reason: str | None) -> None:
    """Drop held post ID without telling the poster."""
    _decide(app, held_id, moderation.discard_held, reason=reason)
