"""Non-RFC 3464 reports, recognised by their wording and structure."""

from __future__ import annotations

from bounce_helpers import eml

from listd.bounce import Category, Kind, classify_message

QMAIL = eml("""
    From: MAILER-DAEMON@mail.example.net
    To: list-bounces@lists.example.org
    Subject: failure notice

    Hi. This is the qmail-send program at mail.example.net.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    This is a permanent error; I've given up. Sorry it didn't work out.

    <erin@example.com>:
    192.0.2.7 does not like recipient.
    Remote host said: 550 5.1.1 <erin@example.com>: Recipient address rejected: User unknown
    Giving up on 192.0.2.7.

    <frank@example.com>:
    192.0.2.7 does not like recipient.
    Remote host said: 552 5.2.2 Mailbox quota exceeded
    Giving up on 192.0.2.7.

    --- Below this line is a copy of the message.

    Return-Path: <list-bounces@lists.example.org>
    From: list@lists.example.org
    To: erin@example.com, frank@example.com, grace@example.com
    Subject: hello
    """)

EXIM = eml("""
    From: Mail Delivery System <Mailer-Daemon@relay.example.net>
    To: list-bounces@lists.example.org
    Subject: Mail delivery failed: returning message to sender
    Auto-Submitted: auto-replied
    X-Failed-Recipients: heidi@example.com

    This message was created automatically by mail delivery software.

    A message that you sent could not be delivered to one or more of its
    recipients. This is a permanent error. The following address(es) failed:

      heidi@example.com
        SMTP error from remote mail server after RCPT TO:<heidi@example.com>:
        host mx.example.com [192.0.2.30]: 550 5.7.1 Message rejected as spam by
        Content Filtering

    ------ This is a copy of the message, including all the headers. ------

    Return-path: <list-bounces@lists.example.org>
    From: list@lists.example.org
    To: heidi@example.com
    Subject: hello
    """)

GMAIL_STYLE = eml("""
    From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
    To: list-bounces@lists.example.org
    Subject: Delivery Status Notification (Failure)

    Delivery to the following recipient failed permanently:

         ivan@example.org

    Technical details of permanent failure:
    DNS Error: Domain name not found

    ----- Original message -----

    From: list@lists.example.org
    To: ivan@example.org
    """)


def test_qmail_bounce() -> None:
    report = classify_message(QMAIL)
    assert report.category is Category.BOUNCE
    by_addr = {r.address: r for r in report.recipients}
    # grace@ is only in the returned copy: she did not fail.
    assert set(by_addr) == {"erin@example.com", "frank@example.com"}
    erin, frank = by_addr["erin@example.com"], by_addr["frank@example.com"]
    assert (erin.status, erin.reason, erin.kind) == ("5.1.1", "userunknown", Kind.HARD)
    assert (frank.status, frank.reason, frank.kind) == ("5.2.2", "mailboxfull", Kind.SOFT)


def test_exim_bounce_spam_refusal_is_soft() -> None:
    report = classify_message(EXIM)
    assert report.is_bounce
    (rcpt,) = report.recipients
    assert rcpt.address == "heidi@example.com"
    assert rcpt.status == "5.7.1"
    assert rcpt.reason == "spamdetected"
    assert rcpt.kind is Kind.SOFT


def test_gmail_style_host_unknown() -> None:
    report = classify_message(GMAIL_STYLE)
    (rcpt,) = report.recipients
    assert rcpt.address == "ivan@example.org"
    assert (rcpt.reason, rcpt.kind) == ("hostunknown", Kind.HARD)


def test_plain_text_delay_warning() -> None:
    raw = eml("""
        From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
        To: list-bounces@lists.example.org
        Subject: Warning: message 1abc-000 delayed 24 hours

        This message was created automatically by mail delivery software.
        A message that you sent has not yet been delivered to one or more of its
        recipients after more than 24 hours on the queue on mx.example.net.

          judy@example.com
            Delay reason: connection timed out

        No action is required on your part. Delivery attempts will continue for
        some time, and this warning may be repeated at intervals if the message
        remains undelivered.
        """)
    report = classify_message(raw)
    assert report.category is Category.DELAY
    assert not report.is_failure
    assert [r.address for r in report.recipients] == ["judy@example.com"]
