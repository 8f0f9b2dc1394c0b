"""French everywhere on a French list: every text listd writes comes from the one catalog, and
none is left in English — mail texts, reply phrases, HELP, pages, footers, the DMARC "via"
phrase and the posting rules' reasons; end to end, a French list's mail is French."""

from __future__ import annotations

import re

from sqlalchemy import select

from listd import i18n
from listd.commands.phrases import PHRASES, say
from listd.config import Config
from listd.database import Database
from listd.models import HeldMessage
from listd.serve import Daemon
from listd.templates import TEXTS, render
from listd.web import pages
from tests.support.client import in_thread, post
from tests.support.lists import make_list
from tests.support.robot import body, mail, wait_for_mail
from tests.test_i18n import marked_messages

DOMAIN = "lists.example.org"
CLUB = f"club@{DOMAIN}"
OWNER = "owner@example.org"
BOB = "bob@example.org"
# The same in both languages, and rightly so.
# Words the two languages share (the web pages' headings and a list status).
SAME_IN_FRENCH = {"{poster} via {list}", "Site", "Score", "Action", "Description", "Confirmation",
                  "Administration", "active", "Date", "{count} message"}
# Words that would betray an English text left in a French one.
ENGLISH = re.compile(r"\b(the|you|your|this|please|mailing list|to unsubscribe|is not|"
                     r"send|reply|list of)\b", re.IGNORECASE)


def values(text: str) -> dict[str, object]:
    return {name: f"<{name}>" for name in i18n.placeholders(text)}


def test_every_text_the_catalog_covers_reads_otherwise_in_french() -> None:
    left: list[str] = []
    for message in marked_messages():
        english = message if isinstance(message, str) else message[0]
        if english in SAME_IN_FRENCH:
            continue
        french = i18n.translate("fr", english, **values(english))
        if french == i18n.translate("en", english, **values(english)) or ENGLISH.search(
                re.sub(r"<\w+>|[A-Z]{3,}\S*", "", french)):
            left.append(english)
    assert left == []


def test_every_mail_text_phrase_and_page_is_rendered_in_french() -> None:
    for name, text in TEXTS.items():
        filled = values(text.subject + text.body)
        english, french = render(name, "en", **filled), render(name, "fr", **filled)
        assert french.subject != english.subject and french.body != english.body, name
        assert "{" not in french.body, name  # every placeholder filled, none mistyped
    for key, phrase in PHRASES.items():
        assert say("fr", key, **values(phrase)) != say("en", key, **values(phrase)), key
    for key in pages.TEXTS:
        assert pages.text("fr", key, address="a@b", list="l@d") != \
            pages.text("en", key, address="a@b", list="l@d"), key


async def test_a_french_lists_footer_reasons_and_notices_are_french(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, CLUB, owners=(OWNER,), subscribers=(BOB,), language="fr")
    await in_thread(post, daemon.port, BOB, CLUB, "Bonjour", "Un message.\n")
    (copy,) = await wait_for_mail(config, BOB, 1, "the list's copy")
    text = body(copy)
    assert f"Liste de diffusion club -- {CLUB}" in text
    assert f"Pour vous désabonner, envoyez un message à club-leave@{DOMAIN}" in text
    assert "mailing list" not in text and "To unsubscribe" not in text

    await in_thread(post, daemon.port, "stranger@example.net", CLUB, "Dehors", "Du dehors.\n")
    (notice,) = await wait_for_mail(config, OWNER, 1, "the moderation notice")
    with db.session() as session:
        held = session.scalars(select(HeldMessage)).one()
    assert held.reason == f"stranger@example.net n'est pas membre de {CLUB}"
    assert held.reason in body(notice) and "is not a member" not in body(notice)
    await mail(daemon, "stranger@example.net", f"club-request@{DOMAIN}", "AIDE\n")
    help_text = body((await wait_for_mail(config, "stranger@example.net", 2))[-1])
    assert "Envoyez vos commandes" in help_text and "Send commands" not in help_text


async def test_the_operations_refusals_reach_a_french_list_in_french(
        daemon: Daemon, db: Database, config: Config) -> None:
    from listd import suppression
    from listd.models import SuppressionReason
    from tests.support.robot import confirm_address, reads_it

    make_list(db, config, CLUB, owners=(OWNER,), subscribers=(BOB,), language="fr",
              subscription_notices="off")
    with db.session() as session:
        suppression.suppress(session, "parti@example.net", SuppressionReason.COMPLAINT,
                             actor="listd")
    request = f"club-request@{DOMAIN}"
    await mail(daemon, OWNER, request,
               "CREATELIST mauvais!nom discussion Essai owner@example.org\n"
               f"CREATELIST {CLUB} discussion Essai owner@example.org\n"
               "CREATELIST neuve@ailleurs.example discussion Essai owner@example.org\n"
               "CREATELIST neuve inexistant Essai owner@example.org\n"
               "TEXT club footer\nSubject: Un pied de page\n\nMerci.\n")
    reply = body((await wait_for_mail(config, OWNER, 1))[0])
    refusals = [line for line in reply.splitlines() if line.startswith("Refusé")]
    assert refusals == [
        "Refusé : nom de liste invalide 'mauvais!nom' : utilisez des minuscules, des chiffres, "
        "« . », « _ » ou « - », sans finir par -request, -owner, -bounces, -confirm, -join, "
        "-leave",
        f"Refusé : la liste {CLUB} existe déjà",
        "Refusé : le domaine ailleurs.example n'est pas servi par listd (ajoutez-le avec "
        "« listd domain add ailleurs.example »)",
        "Refusé : modèle de liste inconnu 'inexistant' (disponibles : discussion, moderated, "
        "newsletter, private)",
        "Refusé : le texte footer n'est pas un message : il n'a pas de ligne Subject "
        "(messages : welcome, goodbye, reminder, invitation)"], reply
    # A refusal that comes once the owner confirmed (ADD of a suppressed address).
    await mail(daemon, OWNER, request, "ADD club parti@example.net\n")
    mails = await wait_for_mail(config, OWNER, 2, "the confirmation request")
    reads_it(daemon)
    await mail(daemon, OWNER, confirm_address(mails[1]), "oui\n")
    answer = body((await wait_for_mail(config, OWNER, 3, "the answer"))[2])
    assert "Refusé : parti@example.net est sur la liste de suppression (plainte depuis le " \
        in answer
    for text in refusals + [line for line in answer.splitlines() if "Refusé" in line]:
        assert not ENGLISH.search(re.sub(r"\S+@\S+|'[^']*'|-\w+", "", text)), text
