"""The web pages in a real browser (Debian's chromium through Playwright), end to end through
a real `listd serve`: sign-in by the mailed link, a list request and its approval, members
pasted in a batch, a web subscription confirmed by mail, moderation, /my, French pages, and the
refusals (CSRF, private lists, another list's admin pages, a held post's HTML)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from listd import lists, members
from listd.automatic_mail import QUICKEST_PERSON
from listd.models import AuditEntry, DeliveryMode, HeldMessage, ListStatus, Member, Role
from tests.support.client import post, send
from tests.support.lists import make_list
from tests.support.waiting import wait_until_sync
from tests.web.conftest import Site
from tests.web.pages import body_of, mail_to, screenshot, sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NEWS = "news@lists.example.org"
LISTMASTER = "listmaster@example.org"


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


def members_of(site: Site, address: str, role: Role = Role.SUBSCRIBER) -> dict[str, Member]:
    with site.db.reading() as session:
        mailing_list = lists.find_list(session, address)
        return {m.address: m for m in session.scalars(select(Member).where(
            Member.list_id == mailing_list.id, Member.role == role))}


def test_newcomer_requests_a_list_a_listmaster_approves_and_the_owner_pastes_50_members(
        site: Site, page: Any, browser: Any) -> None:
    sign_in(page, site, "jeanne@example.org")
    page.goto(f"{site.base}/request")
    page.get_by_label("Name of the list").fill("union")
    page.get_by_label("Subject").fill("Union news")
    page.get_by_label("Description").fill("News of the union <b>local</b>")
    screenshot(page, "request")
    page.get_by_role("button", name="Request the list").click()
    page.get_by_text("Your request for the list union@lists.example.org waits").wait_for()

    master = browser.new_context().new_page()
    sign_in(master, site, LISTMASTER)
    master.goto(f"{site.base}/listmaster")
    assert "News of the union <b>local</b>" in master.locator("main").inner_text()
    screenshot(master, "listmaster")
    master.get_by_role("button", name="Approve union@lists.example.org").click()
    master.get_by_text("Done.").wait_for()
    with site.db.reading() as session:
        assert lists.find_list(session, "union@lists.example.org").status is ListStatus.ACTIVE
    mail_to(site, "jeanne@example.org", "union@lists.example.org")

    page.goto(f"{site.base}/lists/union@lists.example.org/admin/members")
    lines = "\n".join(f"member{n:02d}@example.org Member Number{n}" for n in range(50))
    page.get_by_label("One member a line: the address, then the name").fill(
        lines + "\nnot-an-address Nobody\n")
    page.get_by_role("button", name="Add these members").click()
    report = page.locator("#import-report").inner_text()
    assert "Added: 50. Already members: 0. Refused: 1." in report
    assert "not-an-address" in report
    assert page.get_by_text("50 subscribers").is_visible()
    assert page.locator("#members tbody tr").count() == 50
    screenshot(page, "admin-members")
    assert len(members_of(site, "union@lists.example.org")) == 50
    page.get_by_label("Search an address or a name").fill("Number17")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=Number17")
    assert page.locator("#members tbody td:nth-child(1)").all_inner_texts() == [
        "member17@example.org"]
    with site.db.reading() as session:
        actors = {(e.action, e.actor) for e in session.scalars(select(AuditEntry))}
    assert ("member.imported", "jeanne@example.org") in actors
    assert ("list.active", LISTMASTER) in actors
    assert ("list.requested", "jeanne@example.org") in actors


def test_a_sign_in_link_opens_a_page_and_works_once(site: Site, page: Any) -> None:
    page.goto(f"{site.base}/signin")
    page.get_by_label("Your e-mail address").fill("paul@example.org")
    page.get_by_role("button", name="Mail me a sign-in link").click()
    link = re.search(r"/signin/[a-z0-9]+", body_of(mail_to(site, "paul@example.org")))
    assert link is not None
    # A scanner fetching the link twice signs nobody in and uses nothing up.
    for _ in range(2):
        page.goto(site.base + link.group(0))
    page.get_by_role("button", name="Sign me in").click()
    page.wait_for_url(f"{site.base}/my")
    other = page.context.browser.new_context().new_page()
    other.goto(site.base + link.group(0))
    other.get_by_role("button", name="Sign me in").click()
    assert "not valid any more" in other.locator("main").inner_text()
    other.goto(f"{site.base}/my")
    assert other.url == f"{site.base}/signin"


def test_a_stranger_subscribes_from_the_list_page_and_confirms_from_the_mail(
        site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS, subscribers=("old@example.org",))
    page.goto(f"{site.base}/lists")
    assert page.get_by_role("link", name=NEWS).is_visible()
    screenshot(page, "directory")
    answers = []
    for address in ("stranger@example.org", "old@example.org"):
        page.goto(f"{site.base}/lists/{NEWS}")
        page.get_by_label("Your e-mail address").fill(address)
        page.locator("form[data-ready=yes]").wait_for()
        if address.startswith("stranger"):
            screenshot(page, "list")
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_text("Check your mailbox").wait_for()
        answers.append(page.locator("main").inner_text())
    # The same answer for a member and a stranger: the form tells nobody who is subscribed.
    assert answers[0] == answers[1]
    assert "stranger@example.org" not in members_of(site, NEWS)
    request = mail_to(site, "stranger@example.org", "confirm")
    reply_to = str(request["Reply-To"])
    # A person reads before answering; an answer quicker than that is taken for a responder's
    # (listd/automatic_mail.py). This daemon runs in its own process: its clock cannot move.
    time.sleep(QUICKEST_PERSON.total_seconds())
    send(site.smtp_port, "stranger@example.org", [reply_to],
         f"From: stranger@example.org\r\nTo: {reply_to}\r\nSubject: Re: {request['Subject']}"
         "\r\n\r\nyes\r\n".encode())
    wait_until_sync(lambda: "stranger@example.org" in members_of(site, NEWS), timeout=30,
                    what="the confirmed subscription")


def test_a_confirmation_link_opens_a_page_whose_button_confirms(site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS)
    page.goto(f"{site.base}/lists/{NEWS}")
    page.get_by_label("Your e-mail address").fill("paul@example.org")
    page.locator("form[data-ready=yes]").wait_for()
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_text("Check your mailbox").wait_for()
    link = re.search(r"http://lists\.example\.org(/confirm/[a-z0-9]+)",
                     body_of(mail_to(site, "paul@example.org", "confirm")))
    assert link is not None
    other = page.context.browser.new_context().new_page()
    # A mail scanner fetching the link twice subscribes nobody and uses nothing up.
    for _ in range(2):
        other.goto(site.base + link.group(1))
    assert "paul@example.org" not in members_of(site, NEWS)
    assert other.get_by_role("heading", name=f"Subscribe paul@example.org to {NEWS}?").is_visible()
    other.get_by_role("button", name="Confirm").click()
    other.get_by_role("heading", name="Confirmation").wait_for()
    assert "paul@example.org" in members_of(site, NEWS)
    again = other.goto(site.base + link.group(1))
    assert again is not None and again.status == 404


def test_a_form_without_its_proof_of_work_or_with_the_honeypot_mails_nobody(
        site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS)
    page.goto(f"{site.base}/lists/{NEWS}")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    challenge = page.locator("input[name=challenge]").get_attribute("value")
    url = f"{site.base}/lists/{NEWS}/subscribe"
    no_work = page.request.post(url, form={"csrf": csrf, "challenge": challenge, "work": "",
                                           "address": "victim@example.org"})
    assert no_work.status == 400
    trapped = page.request.post(url, form={"csrf": csrf, "challenge": challenge, "work": "1",
                                           "address": "victim@example.org",
                                           "website": "http://spam.example"})
    assert trapped.status == 200
    with site.db.reading() as session:
        assert not list(session.scalars(select(AuditEntry).where(
            AuditEntry.subject == "victim@example.org")))
    from tests.support.maildir import read_outbox
    assert [w for w in read_outbox(site.outbox) if w.recipient == "victim@example.org"] == []


def test_the_owner_approves_a_held_post_whose_html_shows_as_text(site: Site,
                                                                  page: Any) -> None:
    make_list(site.db, site.config, NEWS, subscribers=("reader@example.org",))
    html = ('<p>Hello <b>world</b></p><img src="http://tracker.example/x.png">'
            '<script>document.title = "pwned"</script>')
    post(site.smtp_port, "outsider@example.org", NEWS, subject="<script>alert(1)</script> hi",
         body=html, headers="MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n")
    wait_until_sync(lambda: _held(site), timeout=30, what="the held post")
    sign_in(page, site, "owner@example.org")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{site.base}/lists/{NEWS}/admin/moderation")
    shown = page.locator("pre.mail").inner_text()
    assert "<script>alert(1)</script> hi" in shown
    assert "Hello world" in shown
    assert page.title() != "pwned" and dialogs == []
    assert page.locator("main script, main img").count() == 0
    screenshot(page, "admin-moderation")
    page.get_by_role("checkbox", name="<script>alert(1)</script> hi").check()
    page.get_by_role("button", name="Approve the selected posts").click()
    page.get_by_text("1 post decided.").wait_for()
    mail_to(site, "reader@example.org", "Hello")
    with site.db.reading() as session:
        held = session.scalars(select(HeldMessage)).one()
        assert (held.state.value, held.decided_by) == ("approved", "owner@example.org")


def _held(site: Site) -> bool:
    with site.db.reading() as session:
        return session.scalar(select(HeldMessage.id)) is not None


def test_a_subscriber_switches_to_nomail_then_leaves_from_my(site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS, subscribers=("reader@example.org",))
    make_list(site.db, site.config, "board@lists.example.org", owners=("reader@example.org",))
    sign_in(page, site, "reader@example.org")
    screenshot(page, "my")
    page.get_by_label(f"Delivery mode on {NEWS}").select_option("nomail")
    page.get_by_role("button", name="Change").first.click()
    page.get_by_text("The delivery mode is changed.").wait_for()
    assert members_of(site, NEWS)["reader@example.org"].delivery_mode is DeliveryMode.NOMAIL
    page.get_by_role("button", name=f"Leave {NEWS}").click()
    page.get_by_text("You have left the list.").wait_for()
    assert "reader@example.org" not in members_of(site, NEWS)
    with site.db.reading() as session:
        assert session.scalar(select(AuditEntry.actor).where(
            AuditEntry.action == "member.removed")) == "reader@example.org"


def test_a_french_list_shows_french_pages(site: Site, page: Any) -> None:
    make_list(site.db, site.config, "infos@lists.example.org", language="fr")
    page.goto(f"{site.base}/lists/infos@lists.example.org")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="S'abonner").is_visible()
    assert page.get_by_label("Votre adresse électronique").is_visible()
    page.locator("form[data-ready=yes]").wait_for()
    screenshot(page, "list-fr")
    page.set_viewport_size({"width": 390, "height": 844})
    # A phone: nothing is wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "list-phone")


def test_a_form_without_its_csrf_token_is_refused(site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS, subscribers=("reader@example.org",))
    sign_in(page, site, "reader@example.org")
    answer = page.request.post(f"{site.base}/my/leave", form={"list": NEWS})
    assert answer.status == 403
    forged = page.request.post(f"{site.base}/my/leave", form={"list": NEWS, "csrf": "0" * 64})
    assert forged.status == 403
    assert "reader@example.org" in members_of(site, NEWS)


def test_a_private_list_is_invisible_to_a_stranger(site: Site, page: Any) -> None:
    make_list(site.db, site.config, "secret@lists.example.org", visibility="hidden",
              subscribers=("insider@example.org",))
    page.goto(f"{site.base}/lists")
    assert "secret@" not in page.locator("main").inner_text()
    answer = page.goto(f"{site.base}/lists/secret@lists.example.org")
    assert answer is not None and answer.status == 404
    assert page.goto(f"{site.base}/lists/nothing@lists.example.org").status == 404  # type: ignore[union-attr]
    sign_in(page, site, "insider@example.org")
    page.goto(f"{site.base}/lists")
    assert page.get_by_role("link", name="secret@lists.example.org").is_visible()


def test_an_owner_of_one_list_is_refused_on_another_lists_admin_pages(site: Site,
                                                                       page: Any) -> None:
    make_list(site.db, site.config, "a@lists.example.org", owners=("alice@example.org",))
    make_list(site.db, site.config, "b@lists.example.org", owners=("bob@example.org",),
              subscribers=("reader@example.org",))
    sign_in(page, site, "alice@example.org")
    page.goto(f"{site.base}/lists/a@lists.example.org/admin")
    screenshot(page, "admin-settings")
    for path in ("admin", "admin/members", "admin/moderation", "admin/bounces",
                 "admin/members.csv", "admin/roles"):
        answer = page.request.get(f"{site.base}/lists/b@lists.example.org/{path}")
        assert answer.status == 403, path
        assert "reader@example.org" not in answer.text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    removal = page.request.post(f"{site.base}/lists/b@lists.example.org/admin/members/remove",
                                form={"csrf": csrf, "address": "reader@example.org"})
    assert removal.status == 403
    assert "reader@example.org" in members_of(site, "b@lists.example.org")


def test_a_wrong_setting_is_shown_beside_its_field(site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS)
    sign_in(page, site, "owner@example.org")
    page.goto(f"{site.base}/lists/{NEWS}/admin")
    page.get_by_label("max_recipients").fill("many")
    page.get_by_label("subject", exact=True).fill("Our news")
    page.get_by_role("button", name="Save the settings").click()
    assert page.locator("#error-max_recipients").inner_text() == \
        "max_recipients must be a whole number, not 'many'"
    page.get_by_label("max_recipients").fill("25")
    page.get_by_role("button", name="Save the settings").click()
    page.get_by_text("The settings are saved.").wait_for()
    with site.db.reading() as session:
        saved = lists.find_list(session, NEWS)
        assert (saved.subject, saved.settings.get("max_recipients")) == ("Our news", 25)


def test_members_pages_show_each_member_once_forward_and_back(site: Site, page: Any) -> None:
    make_list(site.db, site.config, NEWS, owners=("owner@example.org",),
              subscribers=tuple(f"m{n:03d}@example.org" for n in range(120)))
    sign_in(page, site, "owner@example.org")
    page.goto(f"{site.base}/lists/{NEWS}/admin/members")
    assert page.get_by_text("120 subscribers").is_visible()
    assert page.get_by_role("link", name="Previous page").count() == 0
    addresses = page.locator("#members tbody td:nth-child(1)")
    shown = [addresses.all_inner_texts()]
    while page.get_by_role("link", name="Next page").count():
        # Added between two pages: before the cursor (not shown), after it (shown once).
        with site.db.session() as session:
            news = lists.find_list(session, NEWS)
            for address in (f"a{len(shown)}@example.org", f"z{len(shown)}@example.org"):
                members.add_member(session, news, address)
        follow(page, "Next page")
        shown.append(addresses.all_inner_texts())
    seen = [a for texts in shown for a in texts]
    assert [len(texts) for texts in shown] == [50, 50, 22]
    assert len(seen) == len(set(seen)) and seen == sorted(seen)
    assert [a for a in seen if a.startswith("m")] == [f"m{n:03d}@example.org" for n in range(120)]
    assert [a for a in seen if not a.startswith("m")] == ["z1@example.org", "z2@example.org"]
    follow(page, "Previous page")
    assert addresses.all_inner_texts() == shown[1]
    follow(page, "Previous page")
    assert addresses.all_inner_texts() == shown[0]
    # Before the first page seen now come the members added meanwhile before the cursor.
    follow(page, "Previous page")
    assert addresses.all_inner_texts() == ["a1@example.org", "a2@example.org"]
    assert page.get_by_role("link", name="Previous page").count() == 0
    with site.db.session() as session:
        members.import_members(session, lists.find_list(session, NEWS),
                               (f"big{n:05d}@example.org" for n in range(10_000)))
    page.goto(f"{site.base}/lists/{NEWS}/admin/members")
    assert page.get_by_text("More than 10000 subscribers").is_visible()


def follow(page: Any, link: str) -> None:
    with page.expect_navigation():
        page.get_by_role("link", name=link).click()
