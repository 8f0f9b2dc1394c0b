"""What the browser tests do again and again: sign in by the mailed link, read the outbox."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.support.maildir import read_outbox
from tests.support.waiting import wait_until_sync
from tests.web.conftest import SCREENSHOTS, Site

SIGNIN_LINK = re.compile(r"https?://[^/\s]+(/signin/[a-z0-9]+)")


def mail_to(site: Site, recipient: str, contains: str = "", count: int = 1) -> EmailMessage:
    """The COUNT-th mail to RECIPIENT whose text contains CONTAINS, once it is written."""
    def found() -> EmailMessage | None:
        matching = [w.message for w in read_outbox(site.outbox)
                    if w.recipient == recipient and contains in w.raw.decode(errors="replace")]
        return matching[count - 1] if len(matching) >= count else None

    return wait_until_sync(found, timeout=30, what=f"mail to {recipient} with {contains!r}")


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def sign_in(page: Any, site: Site, address: str, count: int = 1) -> None:
    page.goto(f"{site.base}/signin")
    page.get_by_label("Your e-mail address").fill(address)
    page.get_by_role("button", name="Mail me a sign-in link").click()
    page.get_by_text("A sign-in link is on its way").wait_for()
    link = SIGNIN_LINK.search(body_of(mail_to(site, address, "/signin/", count)))
    assert link is not None
    page.goto(site.base + link.group(1))
    page.get_by_role("button", name="Sign me in").click()
    page.wait_for_url(f"{site.base}/my")


def screenshot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
