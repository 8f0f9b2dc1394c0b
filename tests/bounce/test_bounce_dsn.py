"""RFC 3464 delivery status notifications."""

from __future__ import annotations

from bounce_helpers import eml

from listd.bounce import Category, Kind, classify_message, report_json

MULTI_DSN = eml("""
    From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
    To: list-bounces@lists.example.org
    Subject: Undelivered Mail Returned to Sender
    MIME-Version: 1.0
    Content-Type: multipart/report; report-type=delivery-status; boundary="B0"

    --B0
    Content-Type: text/plain

    I'm sorry to have to inform you that your message could not
    be delivered to one or more recipients.

    --B0
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mx.example.net

    Final-Recipient: rfc822; alice@example.com
    Original-Recipient: rfc822;alice@old.example.com
    Action: failed
    Status: 5.1.1
    Diagnostic-Code: smtp; 550 5.1.1 <alice@example.com>: Recipient address
        rejected: User unknown in local recipient table

    Final-Recipient: rfc822; bob@example.com
    Action: failed
    Status: 5.2.2
    Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

    Final-Recipient: rfc822; carol@example.com
    Action: delivered
    Status: 2.0.0

    --B0
    Content-Type: text/rfc822-headers

    From: list@lists.example.org
    To: alice@example.com, bob@example.com, carol@example.com
    Subject: hello

    --B0--
    """)


def test_dsn_with_several_recipients() -> None:
    report = classify_message(MULTI_DSN)
    assert report.category is Category.BOUNCE
    assert report.is_bounce and report.is_failure
    by_addr = {r.address: r for r in report.recipients}
    assert set(by_addr) == {"alice@example.com", "bob@example.com"}
    alice = by_addr["alice@example.com"]
    assert (alice.status, alice.reason, alice.kind) == ("5.1.1", "userunknown", Kind.HARD)
    assert alice.original_address == "alice@old.example.com"
    assert alice.action == "failed"
    assert "User unknown" in (alice.diagnostic or "")
    bob = by_addr["bob@example.com"]
    assert (bob.status, bob.reason, bob.kind) == ("5.2.2", "mailboxfull", Kind.SOFT)
    assert "carol@example.com" in report.other_recipients


def test_report_json_contract() -> None:
    out = report_json(classify_message(MULTI_DSN))
    assert out["is_bounce"] is True
    assert out["category"] == "bounce"
    first = out["recipients"][0]
    assert {"address", "status", "kind", "reason"} <= set(first)
    assert first == {**first, "address": "alice@example.com", "status": "5.1.1",
                     "kind": "hard", "reason": "userunknown"}


def _single_dsn(action: str, status: str, diagnostic: str, rcpt: str = "dave@example.com",
                subject: str = "Delivery Status Notification") -> bytes:
    return eml(f"""
        From: MAILER-DAEMON@mx.example.net
        To: list-bounces@lists.example.org
        Subject: {subject}
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="XX"

        --XX
        Content-Type: text/plain

        This is the mail system at host mx.example.net.

        --XX
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net

        Final-Recipient: rfc822; {rcpt}
        Action: {action}
        Status: {status}
        Diagnostic-Code: smtp; {diagnostic}

        --XX--
        """)


def test_delayed_dsn_is_not_a_failure() -> None:
    report = classify_message(_single_dsn(
        "delayed", "4.4.1", "connect to mx.example.com[192.0.2.1]:25: Connection timed out",
        subject="Delayed Mail (still being retried)"))
    assert report.category is Category.DELAY
    assert not report.is_failure
    (rcpt,) = report.recipients
    assert rcpt.action == "delayed"
    assert rcpt.kind is Kind.SOFT
    assert rcpt.status == "4.4.1"


def test_success_dsn_is_not_a_bounce() -> None:
    report = classify_message(_single_dsn("delivered", "2.0.0", "250 2.0.0 OK queued"))
    assert report.category is Category.DELIVERED
    assert not report.is_bounce
    assert report.recipients == ()
    assert report_json(report) == {**report_json(report), "is_bounce": False, "recipients": []}


def test_user_unknown_is_hard() -> None:
    report = classify_message(_single_dsn("failed", "5.1.1",
                                          "550 5.1.1 <dave@example.com>... User unknown"))
    (rcpt,) = report.recipients
    assert (rcpt.reason, rcpt.kind) == ("userunknown", Kind.HARD)


def test_mailbox_full_is_soft_even_when_permanent() -> None:
    report = classify_message(_single_dsn(
        "failed", "5.2.2", "552 5.2.2 The email account that you tried to reach is over quota"))
    (rcpt,) = report.recipients
    assert (rcpt.status, rcpt.reason, rcpt.kind) == ("5.2.2", "mailboxfull", Kind.SOFT)


def test_dmarc_rejection_is_soft_policy() -> None:
    report = classify_message(_single_dsn(
        "failed", "5.7.1",
        "550 5.7.1 Unauthenticated email from example.org is not accepted due to"
        " domain's DMARC policy."))
    (rcpt,) = report.recipients
    assert rcpt.status == "5.7.1"
    assert rcpt.reason == "authfailure"
    assert rcpt.kind is Kind.SOFT


def test_blocklisted_sender_is_soft() -> None:
    report = classify_message(_single_dsn(
        "failed", "5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked"
        " using zen.spamhaus.org"))
    (rcpt,) = report.recipients
    assert (rcpt.reason, rcpt.kind) == ("blocked", Kind.SOFT)


def test_specific_remote_code_beats_generic_status_field() -> None:
    report = classify_message(_single_dsn("failed", "5.0.0",
                                          "550 5.1.2 Host unknown (Name server: example.invalid)"))
    (rcpt,) = report.recipients
    assert (rcpt.status, rcpt.reason, rcpt.kind) == ("5.1.2", "hostunknown", Kind.HARD)


def test_temporary_dns_failure_is_not_host_unknown() -> None:
    report = classify_message(_single_dsn(
        "failed", "4.4.3", "Host or domain name not found. Name service error for"
        " name=example.com type=MX: Host not found, try again"))
    (rcpt,) = report.recipients
    assert rcpt.reason == "networkerror"
    assert rcpt.kind is Kind.SOFT
