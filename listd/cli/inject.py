"""`listd inject LIST@DOMAIN [FILE]`: store a message as if it had arrived by SMTP."""

from __future__ import annotations

import sys
from email.parser import BytesHeaderParser
from typing import IO

import click

from listd.addresses import header_address
from listd.cli.context import App, pass_app
from listd.errors import UserError
from listd.smtp_in.routing import Refusal, resolve_recipient
from listd.smtp_in.spool import Envelope, store_inbound


@click.command("inject")
@click.argument("address")
@click.argument("source", type=click.File("rb"), default="-")
@click.option("--sender", default=None,
              help="The envelope sender (default: the message's From address).")
@pass_app
def command(app: App, address: str, source: IO[bytes], sender: str | None) -> None:
    """Queue the message in FILE (default: standard input) for ADDRESS."""
    raw = source.read()
    if not raw.strip():
        raise UserError("the message is empty")
    headers = BytesHeaderParser().parsebytes(raw)
    envelope_sender = sender if sender is not None else header_address(headers.get("From")) or ""
    with app.db.session() as session:
        route = resolve_recipient(session, app.config, address)
        if isinstance(route, Refusal):
            raise UserError(f"{address} takes no mail: {route.text}")
        ids = store_inbound(session, raw, Envelope(envelope_sender, [route], "inject"))
    click.echo(f"queued as {ids[0]}")
    sys.stdout.flush()
