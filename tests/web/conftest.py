"""A real `listd serve` with its HTTP listener, and Debian's chromium driven by Playwright.

The browser tests skip, saying why, only when /usr/bin/chromium is absent (`.ci/run` installs
it). Playwright's own browser download is never used."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from listd.config import Config
from listd.database import Database
from tests.support.process import ServeProcess

CHROMIUM = Path("/usr/bin/chromium")
# Set to a directory to save a screenshot of each main page there (docs/screenshots/).
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")


@dataclass
class Site:
    base: str
    smtp_port: int
    config: Config
    db: Database
    outbox: Path


# Per module, not per session: Playwright's sync API runs an event loop of its own while it is
# open, and pytest-asyncio's tests (in other modules) cannot run beside it.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def site(config_file: Path, config: Config, db: Database, tmp_path: Path) -> Iterator[Site]:
    text = config_file.read_text().replace(
        "http: {host: 127.0.0.1, port: 0}",
        "http: {host: 127.0.0.1, port: 0, base_url: 'http://lists.example.org'}")
    config_file.write_text(text)
    serve = ServeProcess(config_file, tmp_path / "serve.log").start()
    try:
        yield Site(f"http://127.0.0.1:{serve.http_port()}", serve.port, config, db,
                   Path(str(config.outbound.path)))
    finally:
        serve.terminate()
