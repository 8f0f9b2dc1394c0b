"""The owners' pages of a list's posts and of one post's report, in a real browser, showing
the figures `listd post report` gives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLI
from tests.support.lists import make_list
from tests.web.conftest import Site
from tests.web.pages import mail_to, screenshot, sign_in

NEWS = "news@lists.example.org"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


def test_the_owners_see_the_posts_and_each_report(site: Site, page: Any, config_file: Path,
                                                   tmp_path: Path) -> None:
    make_list(site.db, site.config, NEWS, template="newsletter",
              subscribers=("ann@example.org", "bob@example.org"))
    cli = CLI(config_file)
    text = tmp_path / "issue.md"
    text.write_text("Hello readers.\n")
    cli.ok("post", "send", NEWS, str(text), "--subject", "December news")
    mail_to(site, "ann@example.org", "December news")
    mail_to(site, "bob@example.org", "December news")
    shown = json.loads(cli.ok("post", "ls", NEWS, "--json").output)[0]

    sign_in(page, site, "owner@example.org")
    page.goto(f"{site.base}/lists/{NEWS}/admin/posts")
    row = page.get_by_role("row").filter(has_text="December news")
    assert row.get_by_role("cell").nth(4).inner_text() == str(shown["figures"]["recipients"])
    screenshot(page, "admin-posts")
    row.get_by_role("link", name=shown["post"]).click()
    page.get_by_role("heading", name=f"Report of post {shown['post']}").wait_for()
    recipients = page.get_by_role("row").filter(has_text="Recipients")
    assert recipients.get_by_role("cell").inner_text() == "2"
    screenshot(page, "admin-post-report")
    missing = page.request.get(f"{site.base}/lists/{NEWS}/admin/posts/999")
    assert missing.status == 404


def test_a_subscriber_may_not_see_the_reports(site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS, template="newsletter",
              subscribers=("ann@example.org",))
    sign_in(page, site, "ann@example.org")
    for path in ("admin/posts", "admin/posts/1"):
        assert page.request.get(f"{site.base}/lists/{NEWS}/{path}").status == 403
