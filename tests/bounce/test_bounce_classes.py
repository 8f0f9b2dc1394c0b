"""Issue 17: reading reports by class — where recipients come from, and hard or soft.

Every report here is written for these tests in the style of a real MTA or provider; none is
taken from the shared corpus.
"""

from __future__ import annotations

import pytest
from bounce_helpers import eml

from listd.bounce import Category, Kind, classify_message


def failed(raw: bytes) -> dict[str, Kind | None]:
    report = classify_message(raw)
    assert report.category is Category.BOUNCE, report
    return {r.address: r.kind for r in report.recipients}


def dsn(status: str, diagnostic: str, recipient: str = "ann@example.com") -> bytes:
    return eml(f"""
        From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
        To: news-bounces@lists.example.org
        Subject: Undelivered Mail Returned to Sender
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="B"

        --B
        Content-Type: text/plain

        This is the mail system at host mx.example.net.
        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients.

        --B
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net

        Final-Recipient: rfc822; {recipient}
        Action: failed
        Status: {status}
        Diagnostic-Code: smtp; {diagnostic}

        --B
        Content-Type: text/rfc822-headers

        From: news@lists.example.org
        To: news@lists.example.org
        Subject: issue 3

        --B--
        """)


# -- hard or soft: status code, reason and phrasing together ------------------------------

@pytest.mark.parametrize(("status", "diagnostic"), [
    ("5.2.1", "550 5.2.1 This mailbox has been permanently disabled"),
    ("5.0.0", "554 delivery error: dd This account has been closed - mta1.mail.example.com"),
    ("5.1.1", "550 5.1.1 Requested action not taken: mailbox no longer active"),
    ("5.7.1", "550 5.7.1 Account terminated by the administrator"),
    ("5.2.1", "550 5.2.1 <ann@example.com>... Mailbox disabled for this recipient "
              "permanently"),
    ("5.0.0", "550 Address ann@example.com no longer accepts mail"),
    ("4.1.1", "450 4.1.1 <ann@example.com>: Recipient address rejected: User unknown in "
              "virtual mailbox table"),
    ("4.0.0", "451 4.0.0 No such user here"),
])
def test_accounts_gone_for_good_and_no_such_user_under_4xx_are_hard(
        status: str, diagnostic: str) -> None:
    assert failed(dsn(status, diagnostic)) == {"ann@example.com": Kind.HARD}


@pytest.mark.parametrize(("status", "diagnostic"), [
    ("5.1.1", "552 5.1.1 <ann@example.com>: mailbox is full"),
    ("5.2.2", "552-5.2.2 The recipient's inbox is out of storage space. Please direct the "
              "recipient to https://support.example.com/mail/?p=OverQuotaPerm"),
    ("5.7.1", "550 5.7.1 Rate limit exceeded for this recipient, try again later"),
    ("4.7.1", "450 4.7.1 <ann@example.com>: Recipient address rejected: Greylisted, see "
              "https://postgrey.example/help"),
    ("5.7.1", "550 5.7.1 Message content rejected due to its content"),
    ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled."),
])
def test_full_rate_limited_greylisted_refused_content_are_soft(
        status: str, diagnostic: str) -> None:
    assert failed(dsn(status, diagnostic)) == {"ann@example.com": Kind.SOFT}


# -- recipients only from where the format puts them ---------------------------------------

EXIM = eml("""
    From: Mail Delivery System <Mailer-Daemon@mx.example.net>
    To: news-bounces@lists.example.org
    Subject: Mail delivery failed: returning message to sender
    X-Failed-Recipients: bob@example.com
    Auto-Submitted: auto-replied

    This message was created automatically by mail delivery software.

    A message that you sent could not be delivered to one or more of its
    recipients. This is a permanent error. The following address(es) failed:

      bob@example.com
        host mx.example.com [192.0.2.7]
        SMTP error from remote mail server after RCPT TO:<bob@example.com>:
        550 5.1.1 User unknown; forwarded mail was for carol@example.org, see
        /var/spool/exim/msglog/dave@example.com

    ------ This is a copy of the message, including all the headers. ------

    From: news@lists.example.org
    To: news@lists.example.org
    Cc: erin@example.com
    Subject: issue 3

    Write to frank@example.com for the archive.
    """)


def test_exim_names_only_its_failed_address_line() -> None:
    assert failed(EXIM) == {"bob@example.com": Kind.HARD}


def test_halves_of_an_address_cut_by_a_line_wrap_are_no_recipients() -> None:
    report = eml("""
        From: MAILER-DAEMON@mx.example.net
        To: news-bounces@lists.example.org
        Subject: Undelivered Mail Returned to Sender

        This is the mail system at host mx.example.net. Your message could not be
        delivered to <pat@example.com>: 550 5.1.1 user unknown; forwarding to quinn@mail.exam
        ple.com and to the old address rose.smi
        th@example.com also failed
        """)
    assert failed(report) == {"pat@example.com": Kind.HARD}


def test_a_key_prefix_is_not_part_of_the_address() -> None:
    report = eml("""
        From: MAILER-DAEMON@mx.example.net
        To: news-bounces@lists.example.org
        Subject: Undelivered Mail Returned to Sender

        This is the mail system at host mx.example.net.
        Your message could not be delivered.
        recipient=ann@example.com: 550 5.1.1 user unknown
        """)
    assert failed(report) == {"ann@example.com": Kind.HARD}


def test_a_file_path_ending_in_an_address_is_no_recipient() -> None:
    report = eml("""
        From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
        To: news-bounces@lists.example.org
        Subject: Returned mail: see transcript for details

           ----- The following addresses had permanent fatal errors -----
        /home/ann/Maildir/ann@example.com
            (reason: 550 5.1.1 User unknown)
        <bea@example.com>
            (reason: 550 5.1.1 User unknown)
        """)
    assert failed(report) == {"bea@example.com": Kind.HARD}


QMAIL_WRAPPED = eml("""
    From: MAILER-DAEMON@mail.example.net
    To: news-bounces@lists.example.org
    Subject: failure notice

    Hi. This is the qmail-send program at mail.example.net.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    This is a permanent error; I've given up. Sorry it didn't work out.

    <grace@example.com>:
    192.0.2.9 does not like recipient.
    Remote host said: 550 5.1.1 <grace@example.com>: unknown user; also tried heidi@exam
    ple.com and to=ivan@example.com via relayhost
    Giving up on 192.0.2.9.

    --- Below this line is a copy of the message.

    From: news@lists.example.org
    To: news@lists.example.org
    """)


def test_qmail_recipient_line_only_not_wrapped_or_keyed_addresses_in_the_text() -> None:
    assert failed(QMAIL_WRAPPED) == {"grace@example.com": Kind.HARD}


def test_a_bare_host_name_or_cut_address_is_no_recipient() -> None:
    report = classify_message(eml("""
        From: Mail Delivery Subsystem <MAILER-DAEMON@relay>
        To: news-bounces@lists.example.org
        Subject: Returned mail: see transcript for details

        The original message was received at Tue, 1 Dec 2026 09:00:00 +0000
        from localhost [127.0.0.1]

           ----- The following addresses had permanent fatal errors -----
        <judy@mailhost>
        <ken@example.c
        <leo@example.com>
            (reason: 550 5.1.1 User unknown)
        """))
    assert [r.address for r in report.recipients] == ["leo@example.com"]


@pytest.mark.parametrize(("header", "value"), [
    ("X-Failed-Recipients", "mia@example.com"),
    ("X-Original-To", "mia@example.com"),
    ("Envelope-To", "mia@example.com"),
])
def test_a_recipient_only_in_the_returned_copys_envelope_headers(header: str,
                                                                  value: str) -> None:
    report = eml(f"""
        From: postmaster@mx.example.com
        To: news-bounces@lists.example.org
        Subject: Undeliverable: issue 3
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="M"

        --M
        Content-Type: text/plain

        Delivery has failed to these recipients or groups.
        The recipient's mailbox does not exist on this server.

        --M
        Content-Type: message/rfc822

        {header}: {value}
        From: news@lists.example.org
        To: news@lists.example.org
        Subject: issue 3

        news
        --M--
        """)
    assert failed(report) == {"mia@example.com": Kind.HARD}


@pytest.mark.parametrize(("language", "notice"), [
    ("fr", "Votre message n'a pas pu être remis au destinataire suivant :\n"
           "nina@example.fr\nRaison : utilisateur inconnu"),
    ("de", "Ihre Nachricht konnte nicht zugestellt werden an:\n"
           "nina@example.fr\nGrund: Empfänger unbekannt"),
    ("es", "No se pudo entregar su mensaje al siguiente destinatario:\n"
           "nina@example.fr\nMotivo: usuario desconocido"),
])
def test_recipients_and_kind_from_prose_in_other_languages(language: str, notice: str) -> None:
    body = notice.replace("\n", "\n        ")
    report = eml(f"""
        From: MAILER-DAEMON@mx.example.fr
        To: news-bounces@lists.example.org
        Subject: Non remis / Unzustellbar / No entregado
        Content-Type: text/plain; charset=utf-8

        {body}
        """)
    assert failed(report) == {"nina@example.fr": Kind.HARD}


LOTUS = eml("""
    From: Postmaster <postmaster@notes.example.com>
    To: news-bounces@lists.example.org
    Subject: DELIVERY FAILURE: User oscar (oscar@notes.example.com) not listed in Domino Directory

    Your message

      Subject: issue 3

    was not delivered to:

      oscar@notes.example.com

    because:

      User oscar (oscar@notes.example.com) not listed in Domino Directory
    """)


def test_lotus_notes_style_report() -> None:
    assert failed(LOTUS) == {"oscar@notes.example.com": Kind.HARD}


def test_the_verp_token_wins_is_the_handlers_rule_and_parsing_names_the_report_recipient() -> None:
    # Parsing reports what the report says; the handler (tests/test_bounce_trust.py) lets the
    # token decide whose copy it was.
    assert failed(dsn("5.1.1", "550 5.1.1 unknown", "forwarded@elsewhere.example")) == {
        "forwarded@elsewhere.example": Kind.HARD}


GMAIL = eml("""
    From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
    To: news-bounces@lists.example.org
    Subject: Delivery Status Notification (Failure)
    Content-Type: text/plain; charset=UTF-8

    ** Address not found **

    Your message wasn't delivered to uma@example.net because the address couldn't be found,
    or is unable to receive mail.

    The response from the remote server was:
    550 5.1.1 <uma@example.net>: Recipient address rejected: User unknown in virtual mailbox
    table; see https://support.example.com/mail/answer/6596 or write to help@example.net
    """)

YAHOO = eml("""
    From: MAILER-DAEMON@yahoo.example.com
    To: news-bounces@lists.example.org
    Subject: Failure Notice

    Sorry, we were unable to deliver your message to the following address.

    <vic@example.org>:
    554: delivery error: dd Sorry, your message to vic@example.org cannot be delivered. This
    account has been closed. [#102] - mta1.mail.example.org

    --- Below this line is a copy of the message.

    From: news@lists.example.org
    To: news@lists.example.org
    """)

GROUPWISE = eml("""
    From: postmaster@gw.example.com
    To: news-bounces@lists.example.org
    Subject: Message status - undeliverable

    The message that you sent was undeliverable to the following:
    \twes (user not found)
    \twes@gw.example.com (user not found)

    Possibly truncated original message follows:
    To: news@lists.example.org
    """)


@pytest.mark.parametrize(("report", "expected"), [
    (GMAIL, {"uma@example.net": Kind.HARD}),
    (YAHOO, {"vic@example.org": Kind.HARD}),
    (GROUPWISE, {"wes@gw.example.com": Kind.HARD}),
], ids=["gmail", "yahoo-closed", "groupwise"])
def test_provider_prose_reports(report: bytes, expected: dict[str, Kind]) -> None:
    assert failed(report) == expected
