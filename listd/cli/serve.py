"""`listd serve`."""

from __future__ import annotations

import asyncio
import logging

import click

from listd.cli.context import App, pass_app
from listd.runtime import Runtime
from listd.serve import Daemon, check_schema


@click.command("serve")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
@pass_app
def command(app: App, log_level: str) -> None:
    """Run the daemon: the SMTP/LMTP listener and the workers, until SIGTERM."""
    logging.basicConfig(level=log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_schema(app.db)
    runtime = Runtime.create(app.config, app.db)
    asyncio.run(Daemon(runtime).run_until_signalled())
