"""`listd serve`."""

from __future__ import annotations

import asyncio

import click

from listd.cli.context import App, pass_app
from listd.distribute.shares import process_count
from listd.logs import configure_logging
from listd.runtime import Runtime
from listd.serve import Daemon, check_schema


@click.command("serve")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
@pass_app
def command(app: App, log_level: str) -> None:
    """Run the daemon: the SMTP/LMTP listener and the workers, until SIGTERM."""
    configure_logging(log_level)
    check_schema(app.db)
    runtime = Runtime.create(app.config, app.db)
    count = process_count(app.config.outbound)
    asyncio.run(Daemon(runtime, count).run_until_signalled())
