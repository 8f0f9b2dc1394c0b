"""The archive end to end: posts archived through the daemon, its web pages and search through
a real HTTP client, the mail commands under each access setting, mbox export and import."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from listd.config import Config
from listd.database import Database
from listd.models import ArchivedMessage
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.outbox import sent_to, settle
from tests.support.robot import body, mail, wait_for_mail

DOMAIN = "lists.example.org"
NEWS = f"news@{DOMAIN}"
POSTER = "poster@example.org"
READER = "reader@example.net"
ARCHIVE = f"/lists/{NEWS}/archive"


def message(subject: str, text: str, *, reply_to: EmailMessage | None = None,
            html: str | None = None, attachment: tuple[bytes, str, str] | None = None
            ) -> EmailMessage:
    built = EmailMessage()
    built["From"] = f"Poster Person <{POSTER}>"
    built["To"] = NEWS
    built["Subject"] = subject
    built["Message-ID"] = make_msgid(domain="example.org")
    built["Date"] = "Tue, 01 Dec 2026 09:30:00 +0000"
    if reply_to is not None:
        built["In-Reply-To"] = reply_to["Message-ID"]
        built["References"] = reply_to["Message-ID"]
    if html is not None:
        built.set_content(html, subtype="html")
    else:
        built.set_content(text)
    if attachment is not None:
        content, maintype_subtype, filename = attachment
        maintype, subtype = maintype_subtype.split("/")
        built.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return built


async def post_all(daemon: Daemon, db: Database, *posts: EmailMessage) -> None:
    for number, post in enumerate(posts, start=1):
        await in_thread(send, daemon.port, POSTER, [NEWS], post.as_bytes())
        await settle(db, number)


def client(daemon: Daemon) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}")


async def test_public_archive_pages_search_and_headers(daemon: Daemon, db: Database,
                                                       config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(POSTER, READER), archive="public")
    first = message("Banana harvest", "The banana crop is in. Write to jeanne@example.net.")
    reply = message("Re: Banana harvest", "Great news about the harvest.", reply_to=first)
    html = message("Meeting", "", html="<p>Meet <b>at noon</b></p><script>alert(1)</script>",
                   attachment=(b"<html><script>x</script></html>", "text/html", "../evil.html"))
    await post_all(daemon, db, first, reply, html)

    copies = sent_to(config, READER)
    assert len(copies) == 3
    base = f"http://lists.example.org{ARCHIVE}"
    assert {str(c.message["Archived-At"]) for c in copies} == {
        f"<{base}/1>", f"<{base}/2>", f"<{base}/3>"}
    assert all(str(c.message["List-Archive"]) == f"<{base}>" for c in copies)

    async with client(daemon) as http:
        index = await http.get(ARCHIVE)
        assert index.status_code == 200 and "2026-12" in index.text
        thread = await http.get(f"{ARCHIVE}/2026-12/thread")
        assert thread.status_code == 200
        assert thread.text.index("Banana harvest") < thread.text.index("Re: Banana harvest")
        assert 'data-depth="1"' in thread.text
        by_date = await http.get(f"{ARCHIVE}/2026-12/date")
        assert by_date.status_code == 200 and "Meeting" in by_date.text

        page = await http.get(f"{ARCHIVE}/1")
        assert page.status_code == 200
        assert "The banana crop is in." in page.text
        assert "jeanne at example.net" in page.text and "jeanne@example.net" not in page.text
        assert POSTER not in page.text
        html_page = (await http.get(f"{ARCHIVE}/3")).text
        assert "Meet at noon" in html_page.replace("\n", " ")
        assert "<script>" not in html_page and "<b>" not in html_page
        download = await http.get(f"{ARCHIVE}/3/attachments/1")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/octet-stream"
        assert download.headers["content-disposition"] == 'attachment; filename="evil.html"'
        assert download.content == b"<html><script>x</script></html>"
        assert (await http.get(f"{ARCHIVE}/3/attachments/2")).status_code == 404
        assert (await http.get(f"{ARCHIVE}/99")).status_code == 404

        found = await http.get(f"{ARCHIVE}/search", params={"q": "banana"})
        assert found.status_code == 200
        assert "2 messages found" in found.text and "Meeting" not in found.text
        harvest = await http.get(f"{ARCHIVE}/search", params={"q": "harvest great"})
        assert "1 message found" in harvest.text and f"{ARCHIVE}/2" in harvest.text
        odd = await http.get(f"{ARCHIVE}/search", params={"q": '"NEAR( * OR'})
        assert odd.status_code == 200


@pytest.mark.parametrize("setting, status", [("members", 403), ("owners", 403), ("off", 404)])
async def test_closed_archives_are_served_to_no_one_on_the_web(
        daemon: Daemon, db: Database, config: Config, setting: str, status: int) -> None:
    make_list(db, config, NEWS, subscribers=(POSTER, READER), archive=setting)
    await post_all(daemon, db, message("Private matters", "Not for the web."))
    (copy,) = sent_to(config, READER)
    assert copy.message["Archived-At"] is None and copy.message["List-Archive"] is None
    async with client(daemon) as http:
        for path in ("", "/2026-12/thread", "/2026-12/date", "/1", "/search?q=private"):
            answer = await http.get(ARCHIVE + path)
            assert answer.status_code == status, path
            assert "Not for the web" not in answer.text
    with db.session() as session:
        archived = session.scalar(select(func.count()).select_from(ArchivedMessage))
    assert archived == (0 if setting == "off" else 1)


@pytest.mark.parametrize("setting, allowed", [
    ("public", {"stranger", "member", "owner"}), ("members", {"member", "owner"}),
    ("owners", {"owner"}), ("off", set())])
async def test_index_get_last_by_mail(daemon: Daemon, db: Database, config: Config,
                                      setting: str, allowed: set[str]) -> None:
    who = {"stranger": "stranger@example.net", "member": READER, "owner": "owner@example.org"}
    make_list(db, config, NEWS, subscribers=(POSTER, READER), archive=setting)
    await post_all(daemon, db, message("First post", "Hello one."),
                   message("Second post", "Hello two."))
    for role, address in who.items():
        await mail(daemon, address, f"listd@{DOMAIN}", "INDEX news\nGET news 1\nLAST news\n")
        mails = await wait_for_mail(config, address, 3 if role == "member" else 1)
        (text,) = [body(w) for w in mails if "> INDEX news" in body(w)]
        if role in allowed:
            assert "Done: the archive of news@lists.example.org, 2 newest messages" in text
            assert "First post" in text.split("> GET")[1].split("> LAST")[0]
            assert "Hello one." in text and "Hello two." in text.split("> LAST")[1]
        else:
            assert "Hello one." not in text
            reason = {"off": "keeps no archive", "members": "only the members of",
                      "owners": "only the owners of"}[setting]
            assert text.count(f"Refused: {reason}" if setting != "off" else reason) == 3, text


def test_mbox_round_trip_and_removal(listd_cli: CLI, db: Database, config: Config,
                                     tmp_path: Path) -> None:
    make_list(db, config, NEWS, archive="public")
    make_list(db, config, f"other@{DOMAIN}", archive="public")
    source = tmp_path / "old-list.mbox"
    box = mailbox.mbox(str(source))
    first = message("Old one", "From the old list.\nFrom here on, a line starting with From.")
    second = message("Old two", "Second message, été.", reply_to=first)
    for item in (first, second):
        box.add(mailbox.mboxMessage(item.as_bytes()))
    box.close()

    assert "2 imported, 0 already archived" in listd_cli.ok(
        "archive", "import", NEWS, str(source)).stdout
    assert "0 imported, 2 already archived" in listd_cli.ok(
        "archive", "import", NEWS, str(source)).stdout
    exported = tmp_path / "news.mbox"
    listd_cli.ok("archive", "export", NEWS, str(exported))
    listd_cli.ok("archive", "import", f"other@{DOMAIN}", str(exported))
    again = listd_cli.ok("archive", "export", f"other@{DOMAIN}").stdout_bytes
    (tmp_path / "other.mbox").write_bytes(again)

    def contents(path: Path) -> list[tuple[str, bytes]]:
        box = mailbox.mbox(str(path))
        try:
            return [(str(m["Message-ID"]), m.get_payload(decode=True)) for m in box]
        finally:
            box.close()

    assert contents(exported) == contents(tmp_path / "other.mbox")
    assert [m for m, _ in contents(exported)] == [str(first["Message-ID"]),
                                                 str(second["Message-ID"])]
    assert b"From here on" in contents(exported)[0][1]

    removed = listd_cli.ok("archive", "remove", NEWS, str(first["Message-ID"]).strip("<>"))
    assert "message #1 removed" in removed.stdout
    with db.session() as session:
        left = session.scalars(select(ArchivedMessage.subject).where(
            ArchivedMessage.list_id == 1)).all()
    assert left == ["Old two"]
    missing = listd_cli("archive", "remove", NEWS, "<nothing@example.org>")
    assert missing.exit_code == 1 and "has no archived message <nothing@example.org>" \
        in missing.stderr
    bad = listd_cli("archive", "import", NEWS, str(tmp_path / "absent.mbox"))
    assert bad.exit_code == 1 and "absent.mbox: no such file" in bad.stderr


async def test_a_french_lists_archive_pages_are_french(daemon: Daemon, db: Database,
                                                       config: Config) -> None:
    make_list(db, config, NEWS, subscribers=(POSTER, READER), archive="public", language="fr")
    await post_all(daemon, db, message("Récolte", "La récolte est rentrée."))
    async with client(daemon) as http:
        index = await http.get(ARCHIVE)
        assert index.status_code == 200 and 'lang="fr"' in index.text
        assert "par fil de discussion" in index.text and "1 message)" in index.text
        assert "by thread" not in index.text
        found = await http.get(f"{ARCHIVE}/search", params={"q": "récolte"})
        assert "1 message trouvé pour « récolte »" in found.text
        missing = await http.get(f"{ARCHIVE}/99")
        assert missing.status_code == 404 and "Ce message n&#39;existe pas." in missing.text
        # The pages share the site's layout: its stylesheet and its navigation.
        assert '/static/style.css' in index.text and 'href="/lists"' in index.text
