"""`listd digest send [LIST@DOMAIN] [--now]`."""

from __future__ import annotations

import click

from listd import audit
from listd.cli.context import App, pass_app
from listd.digest.store import send_digests
from listd.lists import find_list
from listd.models import MailingList
from listd.runtime import Runtime


@click.group("digest")
def command() -> None:
    """Digests of posts for members who asked for them."""


@command.command("send")
@click.argument("address", required=False)
@click.option("--now", "force", is_flag=True, help="Send every waiting digest, due or not.")
@pass_app
def send(app: App, address: str | None, force: bool) -> None:
    """Build and queue the digests that are due (of ADDRESS, or of every list)."""
    runtime = Runtime.create(app.config, app.db)
    with app.db.session() as session:
        only = find_list(session, address) if address else None
        built = send_digests(session, runtime, runtime.clock.now(), force=force, only=only,
                             actor=audit.CLI_ACTOR)
        lines = [f"{session.get(MailingList, d.list_id).address}: vol {d.volume} "  # type: ignore[union-attr]
                 f"issue {d.issue}, {d.posts} posts" for d in built]
    for line in lines:
        click.echo(line)
    click.echo(f"{len(built)} digests queued; listd serve sends them")
