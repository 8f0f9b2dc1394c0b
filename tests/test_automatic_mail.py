"""The one detector of automatic mail, and the parts of listd that ask it."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from listd.automatic_mail import Sign, assess
from listd.bounce.classify import classify_message
from listd.bounce.report import Category
from listd.commands.guards import NoReply, no_reply_reason
from listd.config import Config
from listd.posting.answers import Answer


def parse(text: str) -> EmailMessage:
    message = message_from_bytes(text.replace("\n", "\r\n").encode(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


PERSON = "From: Jeanne <jeanne@example.net>\nSubject: Re: our meeting\n\nSee you then.\n"


@pytest.mark.parametrize(("headers", "sign"), [
    ("Auto-Submitted: auto-replied\n", Sign.AUTO_SUBMITTED),
    ("X-Autoreply: yes\n", Sign.VENDOR_HEADER),
    ("X-Autorespond: yes\n", Sign.VENDOR_HEADER),
    ("Precedence: auto_reply\n", Sign.PRECEDENCE_AUTO_REPLY),
    ("Precedence: bulk\n", Sign.FROM_A_LIST),
    ("List-Id: <other.example.net>\n", Sign.FROM_A_LIST),
])
def test_each_header_marker_is_named(headers: str, sign: Sign) -> None:
    verdict = assess(parse(headers + PERSON))
    assert verdict.signs == (sign,)
    assert verdict.first is sign


def test_a_persons_mail_has_no_sign() -> None:
    verdict = assess(parse("Auto-Submitted: no\n" + PERSON), "jeanne@example.net",
                     senders=["jeanne@example.net"], text="See you then.\n",
                     answered_after=dt.timedelta(minutes=3))
    assert not verdict and verdict.signs == ()


def test_sender_subject_text_and_timing() -> None:
    message = parse("From: noreply@example.net\nSubject: Abwesenheitsnotiz: Re: news\n\nx\n")
    verdict = assess(message, "", senders=["noreply@example.net"],
                     text="Hallo,\nich bin derzeit nicht im Büro.\n",
                     answered_after=dt.timedelta(seconds=2))
    assert verdict.signs == (Sign.NULL_SENDER, Sign.ROBOT_SENDER, Sign.SUBJECT, Sign.TEXT,
                             Sign.TIMING)


@pytest.mark.parametrize("text", [
    "I am currently out of the office with limited access to email.",
    "Je suis absente jusqu'au 12 mai.",
    "Estaré ausente hasta el lunes.",
    "Sarò assente fino a lunedì.",
    "Ik ben afwezig tot maandag.",
    "Estarei ausente até segunda.",
    "Jeg er på ferie.",
])
def test_out_of_office_phrasing_in_several_languages(text: str) -> None:
    assert assess(parse(PERSON), text=f"{text}\nRegards\n").signs == (Sign.TEXT,)


def test_quoted_text_is_not_the_answers_own() -> None:
    text = "Yes please.\n\nOn Monday listd wrote:\n> I am out of the office\n"
    assert assess(parse(PERSON), text=text).signs == ()


def test_the_callers_agree_on_an_unmarked_subject_only_responder(config: Config) -> None:
    raw = ("From: away@example.net\nTo: listd@lists.example.org\n"
           "Subject: Out of office: Results of your commands\n\nBack on Monday.\n")
    message = parse(raw)
    assert no_reply_reason(message, "away@example.net", config) is NoReply.AUTO_REPLY
    assert Answer.of("away@example.net", message).automatic
    assert classify_message(raw.encode()).category is Category.AUTO_REPLY
    # A post is dropped on explicit markers only: a subject is not enough there.
    assert not assess(message).marked_auto_reply
    assert assess(parse("X-Vacation: on\n" + raw)).marked_auto_reply
