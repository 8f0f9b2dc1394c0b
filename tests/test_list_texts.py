"""Texts the owners write for their list: welcome, goodbye (each can be turned off), info,
footer and reminder, set with `listd list text`, placeholders checked when saved, and used by
a real listd."""

from __future__ import annotations

from pathlib import Path

from listd.config import Config
from listd.database import Database
from listd.lists import find_list
from listd.serve import Daemon
from tests.conftest import CLI
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.outbox import settle
from tests.support.robot import body, mail, reads_it, wait_for_mail, written_to
from tests.test_commands import DOMAIN, JEANNE, NEWS, OWNER, ROBOT, member, subscribe

PAUL = "paul@example.net"


def test_a_text_with_a_mistyped_placeholder_is_refused_when_saved(
        db: Database, config: Config, listd_cli: CLI, tmp_path: Path) -> None:
    make_list(db, config, NEWS, template="newsletter")
    bad = tmp_path / "welcome.txt"
    bad.write_text("Hello {whoo}, welcome to {list}.\n")
    result = listd_cli("list", "text", NEWS, "welcome", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(
        "listd: error: unknown placeholder {whoo} in the welcome text; it may use {address}")
    result = listd_cli("list", "text", NEWS, "welcome", "-", input="A { brace\n")
    assert result.exit_code == 1 and "literal brace" in result.stderr
    result = listd_cli("list", "text", NEWS, "motd", "-", input="x\n")
    assert result.exit_code == 1 and "no list text named 'motd'" in result.stderr
    result = listd_cli("list", "text", NEWS, "welcome")
    assert result.exit_code == 1 and "give one of FILE" in result.stderr
    assert listd_cli.ok("list", "text", NEWS, "welcome", "--show").stdout == \
        "(listd's own welcome text)\n"
    listd_cli.ok("list", "text", NEWS, "welcome", "-", input="Hi {who}: {list}.\n")
    assert listd_cli.ok("list", "text", NEWS, "welcome", "--show").stdout == \
        "Hi {who}: {list}.\n\n"
    assert listd_cli.ok("list", "text", NEWS, "welcome", "--reset").stdout == \
        f"{NEWS}: welcome text reset\n"
    assert "listd's own" in listd_cli.ok("list", "text", NEWS, "welcome", "--show").stdout


async def test_owners_texts_are_used_and_welcome_and_goodbye_can_be_turned_off(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,), subject="News",
              subscribers=(PAUL,))
    listd_cli.ok("list", "text", NEWS, "welcome", "-",
                 input="Dear {who}, welcome to {subject}. Leave: {leave}\n")
    listd_cli.ok("list", "text", NEWS, "info", "-", input="{list} is our club. {owners}\n")
    listd_cli.ok("list", "text", NEWS, "footer", "-", input="Our club: {list}\n")
    listd_cli.ok("list", "text", NEWS, "reminder", "-", input="Still with us on {list}?\n")
    await subscribe(daemon, db, config, JEANNE, "Jeanne")
    welcome = written_to(config, JEANNE)[1]
    assert str(welcome.message["Subject"]) == f"Welcome to {NEWS}"
    assert body(welcome) == f"Dear Jeanne, welcome to News. Leave: news-leave@{DOMAIN}\n"

    await mail(daemon, PAUL, ROBOT, "INFO news\n")
    info = body((await wait_for_mail(config, PAUL, 1))[0])
    assert f"Done: {NEWS} is our club. {OWNER}" in info
    await in_thread(post, daemon.port, PAUL, NEWS, "Hello", "Hello all.\n")
    copy = (await wait_for_mail(config, JEANNE, 3, "the post"))[2]
    assert f"Our club: {NEWS}\n\n____" in body(copy)
    await mail(daemon, OWNER, ROBOT, "REMIND news\n")
    reminder = (await wait_for_mail(config, PAUL, 3, "the reminder"))[2]
    assert body(reminder) == f"Still with us on {NEWS}?\n"

    # Turned off: no welcome, and so the confirmation gets a reply instead.
    listd_cli.ok("list", "text", NEWS, "welcome", "-", input="")
    listd_cli.ok("list", "text", NEWS, "goodbye", "-", input="\n")
    await subscribe(daemon, db, config, "zoe@example.net")
    second = written_to(config, "zoe@example.net")[1]
    assert "Done: zoe@example.net is now subscribed" in body(second)
    assert member(db, "zoe@example.net") is not None
    await settle(db)
    assert len(written_to(config, "zoe@example.net")) == 2


async def test_each_templates_welcome_fits_its_posting_policy(
        daemon: Daemon, db: Database, config: Config) -> None:
    expected = {"newsletter": "Only the owners post to this list",
                "discussion": "To post, write to",
                "moderated": "a moderator reads each post before it goes to the list",
                "private": "To post, write to"}
    for template, line in expected.items():
        address = f"{template}@{DOMAIN}"
        make_list(db, config, address, template=template, subscription="open",
                  subscription_notices="off")
        reader = f"reader-{template}@example.net"
        await mail(daemon, reader, ROBOT, f"SUBSCRIBE {template}\n")
        (confirmation,) = await wait_for_mail(config, reader, 1)
        reads_it(daemon)
        await mail(daemon, reader, str(confirmation.message["Reply-To"]), "yes\n")
        welcome = body((await wait_for_mail(config, reader, 2, "the welcome"))[1])
        assert line in welcome, template
        if template in ("newsletter",):
            assert "To post" not in welcome


async def test_an_owner_sets_a_text_by_mail_once_their_mailbox_confirms(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,), language="fr",
              subscription_notices="off")
    await mail(daemon, OWNER, f"news-request@{DOMAIN}", "TEXT welcome\nBonjour {qui} !\n")
    refusal = body((await wait_for_mail(config, OWNER, 1))[0])
    assert "Refusé : espace réservé inconnu {qui} dans le texte welcome" in refusal
    await mail(daemon, JEANNE, f"news-request@{DOMAIN}", "TEXT welcome\nPirate\n")
    (refused,) = await wait_for_mail(config, JEANNE, 1)
    assert f"seuls les propriétaires de {NEWS}" in body(refused)

    await mail(daemon, OWNER, ROBOT,
               "TEXT news welcome\nBonjour {who} !\n\nBienvenue sur {list}.\n-- \nLa signature\n")
    (_, confirmation) = await wait_for_mail(config, OWNER, 2, "the confirmation")
    assert "Bonjour {who} !\n\nBienvenue sur {list}.\n" in body(confirmation)
    assert "La signature" not in body(confirmation)
    with db.session() as session:
        assert "texts" not in (find_list(session, NEWS).settings or {})
    reads_it(daemon)
    await mail(daemon, OWNER, str(confirmation.message["Reply-To"]), "oui\n")
    done = body((await wait_for_mail(config, OWNER, 3))[2])
    assert f"Fait : le texte welcome de {NEWS} est enregistré" in done
    await subscribe(daemon, db, config, PAUL, "Paul")
    assert body(written_to(config, PAUL)[1]) == f"Bonjour Paul !\n\nBienvenue sur {NEWS}.\n"


HTML_ALTERNATIVE = (b"From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
                    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain.\r\n"
                    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
                    b'<html><body class="x"><p>Rich.</p></body></html>\r\n--b--\r\n')
SIGNED = (b"From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
          b'Content-Type: multipart/signed; protocol="application/pgp-signature"; '
          b'boundary="s"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nSigned.\r\n'
          b"--s\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--s--\r\n")


def test_the_header_goes_at_the_top_of_each_body_without_breaking_its_mime() -> None:
    from listd.distribute.footer import FooterPlacement
    from listd.distribute.render import ListView, parse, render_post
    from listd.settings import ListSettings

    view = ListView(name="news", domain=DOMAIN, description="News", settings=ListSettings(),
                    owners_header="Read the rules: news-request")
    plain, html = parse(render_post(HTML_ALTERNATIVE, view).raw).iter_parts()
    assert str(plain.get_content()).replace("\r\n", "\n").startswith(
        "Read the rules: news-request\n\nPlain.\n")
    assert '<body class="x"><div class="list-header">Read the rules: news-request<hr></div>' \
        in str(html.get_content())
    rendered = render_post(SIGNED, view)
    # The header wrapped the signed message in a multipart/mixed; the footer joined it.
    assert rendered.footer is FooterPlacement.OWN_PART
    header, signed, _footer = parse(rendered.raw).iter_parts()
    assert header.get_content().startswith("Read the rules")
    assert signed.get_content_type() == "multipart/signed"
    # The signed part's bytes are untouched.
    assert b"--s\r\nContent-Type: text/plain\r\n\r\nSigned.\r\n" in rendered.raw


async def test_the_owners_header_tops_each_post_set_by_cli_or_by_mail(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,), language="fr",
              subscribers=(PAUL, JEANNE), subscription_notices="off")
    result = listd_cli("list", "text", NEWS, "header", "-", input="Liste {lst}\n")
    assert result.exit_code == 1 and "unknown placeholder {lst}" in result.stderr
    listd_cli.ok("list", "text", NEWS, "header", "-", input="Charte de {list} : {request}\n")
    await in_thread(post, daemon.port, PAUL, NEWS, "Bonjour", "Premier message.\n")
    copy = body((await wait_for_mail(config, JEANNE, 1, "the post"))[0])
    assert copy.startswith(f"Charte de {NEWS} : news-request@{DOMAIN}\n\nPremier message.\n")
    assert "Liste de diffusion news" in copy

    # By mail, for owners, confirmed by the owner's own mailbox.
    await mail(daemon, OWNER, ROBOT, "TEXT news header\nÀ lire : {leave}\n")
    (confirmation,) = await wait_for_mail(config, OWNER, 1, "the confirmation")
    reads_it(daemon)
    await mail(daemon, OWNER, str(confirmation.message["Reply-To"]), "oui\n")
    await wait_for_mail(config, OWNER, 2, "the reply")
    await in_thread(post, daemon.port, PAUL, NEWS, "Encore", "Second message.\n")
    second = body((await wait_for_mail(config, JEANNE, 2, "the second post"))[1])
    assert second.startswith(f"À lire : news-leave@{DOMAIN}\n\nSecond message.\n")


async def test_owners_set_a_mails_subject_with_a_first_subject_line(
        daemon: Daemon, db: Database, config: Config, listd_cli: CLI) -> None:
    make_list(db, config, NEWS, template="discussion", owners=(OWNER,), subject="News",
              subscription_notices="off")
    for text, error in (("Subject:\n\nHello\n", "the Subject line of the welcome text is empty"),
                        ("Subject: Hi {whoo}\n\nHello\n", "unknown placeholder {whoo}"),
                        ("Subject: Hi\n\n", "has a Subject line but no text after it"),
                        ("Subject: " + "x" * 201 + "\n\nHello\n", "longer than 200")):
        result = listd_cli("list", "text", NEWS, "welcome", "-", input=text)
        assert result.exit_code == 1 and error in result.stderr, (text, result.stderr)
    result = listd_cli("list", "text", NEWS, "info", "-", input="Subject: x\n\nInfo\n")
    assert result.exit_code == 1 and "the info text is not a mail" in result.stderr
    listd_cli.ok("list", "text", NEWS, "welcome", "-",
                 input="subject: Welcome aboard {subject}, {who}\n\nDear {who}.\n")
    assert listd_cli.ok("list", "text", NEWS, "welcome", "--show").stdout == \
        "Subject: Welcome aboard {subject}, {who}\n\nDear {who}.\n\n"
    await subscribe(daemon, db, config, JEANNE, "Jeanne")
    welcome = written_to(config, JEANNE)[1]
    assert str(welcome.message["Subject"]) == "Welcome aboard News, Jeanne"
    assert body(welcome) == "Dear Jeanne.\n"

    # By mail: the refusal comes at once, the subject once the owner's mailbox confirms.
    await mail(daemon, OWNER, ROBOT, "TEXT news reminder\nSubject: {nope}\n\nStill here?\n")
    refusal = body((await wait_for_mail(config, OWNER, 1))[0])
    assert "Refused: unknown placeholder {nope} in the reminder text" in refusal
    await mail(daemon, OWNER, ROBOT,
               "TEXT news reminder\nSubject: About {list}\n\nStill with us?\n")
    (_, confirmation) = await wait_for_mail(config, OWNER, 2, "the confirmation")
    reads_it(daemon)
    await mail(daemon, OWNER, str(confirmation.message["Reply-To"]), "yes\n")
    await wait_for_mail(config, OWNER, 3, "the reply")
    await mail(daemon, OWNER, ROBOT, "REMIND news\n")
    reminder = (await wait_for_mail(config, JEANNE, 3, "the reminder"))[2]
    assert str(reminder.message["Subject"]) == f"About {NEWS}"
    assert body(reminder) == "Still with us?\n"
