"""Entry point: raw message bytes -> :class:`BounceReport`.

Order of the checks: complaints (ARF) first, because a feedback report also
carries a returned message; then RFC 3464 DSNs; then plain-text reports;
then auto-replies (bounces are often marked auto-replied too); else OTHER.
"""

from __future__ import annotations

import dataclasses
import logging
from email.message import Message

from listd.automatic_mail import assess
from listd.bounce import arf, dsn, nonstandard, notice, reasons, ses, severity, status
from listd.bounce import message as m
from listd.bounce.report import BounceReport, Category, FailedRecipient

logger = logging.getLogger(__name__)

_FAILED_ACTIONS = frozenset({"failed", "failure", "fail", "bounced", "undeliverable"})
_DELAY_ACTIONS = frozenset({"delayed", "delay"})
_DELIVERED_ACTIONS = frozenset({"delivered", "relayed", "expanded"})


def classify_message(raw: bytes) -> BounceReport:
    """Classify one message; never raises (worst case: Category.OTHER)."""
    try:
        msg = m.parse_bytes(raw if isinstance(raw, bytes) else bytes(raw))
        report = _classify(msg)
        return dataclasses.replace(report,
                                   returned_senders=notice.returned_envelope_senders(msg))
    except Exception:
        # The contract is "never raise"; reaching here is a parser bug worth logging.
        logger.exception("bounce parser failed; message classified as OTHER")
        return BounceReport(Category.OTHER)


def _classify(msg: Message, depth: int = 0) -> BounceReport:
    complaint = arf.parse_complaint(msg)
    if complaint is not None:
        return BounceReport(Category.COMPLAINT, complainants=complaint.complainants,
                            feedback_type=complaint.feedback_type)
    report = _from_ses(msg)
    if report is not None:
        return report
    text, inline_original = notice.notice_text(msg)
    report = _from_dsn(msg, text)
    if report is not None:
        return report
    report = _from_text(msg, text, inline_original, depth)
    if report is not None:
        return report
    if assess(msg).auto_reply:
        return BounceReport(Category.AUTO_REPLY)
    return BounceReport(Category.OTHER)


def _from_dsn(msg: Message, text: str) -> BounceReport | None:
    entries = [r for t in dsn.delivery_status_texts(msg) for r in dsn.recipients(t)]
    if not entries and dsn.has_inline_fields(text):
        # Some MTAs (and broken MIME) put the DSN fields in the text part.
        entries = dsn.recipients(text)
    if not entries:
        return None
    failed: list[FailedRecipient] = []
    delayed: list[FailedRecipient] = []
    delivered: list[str] = []
    for e in entries:
        action = e.action or _implied_action(e.status)
        if action in _DELIVERED_ACTIONS:
            delivered.append(e.address)
            continue
        context = _notice_diagnostic(text, e.address)
        is_delay = action in _DELAY_ACTIONS
        rec = build_recipient(e.address, e.status, e.diagnostic or context,
                              "delayed" if is_delay else (action or "failed"), e.original,
                              fallback_text=text, context=context)
        (delayed if is_delay else failed).append(rec)
    if failed:
        others = tuple([r.address for r in delayed] + delivered)
        return BounceReport(Category.BOUNCE, tuple(_dedupe(failed)), other_recipients=others)
    if delayed:
        return BounceReport(Category.DELAY, tuple(_dedupe(delayed)),
                            other_recipients=tuple(delivered))
    return BounceReport(Category.DELIVERED, other_recipients=tuple(delivered))


def _from_ses(msg: Message) -> BounceReport | None:
    note = ses.parse_notification(msg)
    if note is None:
        return None
    if note.kind == "complaint":
        return BounceReport(Category.COMPLAINT,
                            complainants=tuple(r.address for r in note.recipients))
    if note.kind == "delivery":
        return BounceReport(Category.DELIVERED,
                            other_recipients=tuple(r.address for r in note.recipients))
    recips = [build_recipient(r.address, r.status, r.diagnostic, r.action or "failed", None)
              for r in note.recipients]
    return BounceReport(Category.BOUNCE, tuple(_dedupe(recips)))


def _implied_action(dsn_status: str | None) -> str | None:
    code = status.valid_status(dsn_status)
    if code and code.startswith("2"):
        return "delivered"
    return None


def _notice_diagnostic(text: str, address: str) -> str | None:
    """The notice's own words about one address, for DSNs without Diagnostic-Code."""
    for r in nonstandard.extract(text, set()):
        if r.address.lower() == address.lower():
            return r.diagnostic
    return None


def _from_text(msg: Message, text: str, inline_original: str,
               depth: int = 0) -> BounceReport | None:
    from_daemon, bounce_subject, failure_words = nonstandard.bounce_signals(msg, text)
    original = notice.original_headers(msg, inline_original)
    if not (failure_words or (from_daemon and bounce_subject)):
        return None
    # Failure wording alone could be a person's prose; a returned copy of the
    # message or a sender that is a mail system makes it a report.
    if not (from_daemon or bounce_subject or original is not None
            or _mentions_smtp_error(text)):
        return None
    if original is not None and depth < 2 and _is_report(original):
        # A forwarded or double bounce: the report that names the failed
        # recipients is the returned message itself.
        inner = original if original.get_payload() else m.parse_bytes(
            inline_original.lstrip("\n").encode("utf-8", "surrogateescape"))
        nested = _classify(inner, depth + 1)
        if nested.recipients and nested.category in (Category.BOUNCE, Category.DELAY):
            return nested
    delay = nonstandard.is_delay_only(msg, text)
    daemon = {a.lower() for h in ("From", "Return-Path", "Sender")
              for a in m.find_addresses(m.header(msg, h))}
    sender = {a.lower() for h in ("To", "Reply-To") for a in m.find_addresses(m.header(msg, h))}
    found = nonstandard.extract(text, daemon, sender)
    if not found:
        # Exim (and MTAs copying it) list the failed addresses in a header.
        found = [nonstandard.TextRecipient(a, text) for a in dict.fromkeys(
            m.find_addresses(m.header(msg, "X-Failed-Recipients")))]
    if not found and original is not None:
        found = [nonstandard.TextRecipient(a, text)
                 for a in _returned_recipients(original) if a.lower() not in daemon | sender]
    whole = text if len(found) == 1 else ""
    action = "delayed" if delay else "failed"
    recips = [build_recipient(r.address, None, r.diagnostic, action, None, fallback_text=whole)
              for r in found]
    category = Category.DELAY if delay else Category.BOUNCE
    return BounceReport(category, tuple(_dedupe(recips)))


# Where the returned copy records its envelope recipient (Exim, Postfix, qmail, Exchange,
# Courier), most specific first; its To: is only the last resort.
_RETURNED_ENVELOPE = ("X-Failed-Recipients", "X-Original-To", "Envelope-To", "X-Envelope-To",
                      "Delivered-To", "X-Rcpt-To", "X-Actual-Recipient")


def _returned_recipients(original: Message) -> list[str]:
    for name in (*_RETURNED_ENVELOPE, "To"):
        found = [a for a in m.find_addresses(m.header(original, name))
                 if m.is_complete_address(a)]
        if found:
            return list(dict.fromkeys(found))
    return []


def _is_report(msg: Message) -> bool:
    if m.content_type(msg) == "multipart/report":
        return True
    sender = m.header(msg, "From") + " " + m.header(msg, "Subject")
    from_daemon, bounce_subject, _ = nonstandard.bounce_signals(msg, "")
    return bool(sender.strip()) and from_daemon and bounce_subject


def _mentions_smtp_error(text: str) -> bool:
    return status.find_status(text) is not None or status.find_reply_code(text) is not None


def build_recipient(address: str, dsn_status: str | None, diagnostic: str | None,
                    action: str | None, original: str | None,
                    fallback_text: str = "", context: str | None = None) -> FailedRecipient:
    """Status, reason and kind of one failed recipient."""
    diag = " ".join((diagnostic or "").split()) or None
    reply = status.find_reply_code(diag or "")
    code = _choose_status(status.valid_status(dsn_status), diag or "", context or "",
                          fallback_text)
    if code is None:
        code = status.status_from_reply(reply or status.find_reply_code(fallback_text))
    reason = (reasons.reason_from_text(diag or "", reasons.STRONG)
              or status.reason_from_status(code)
              or reasons.reason_from_text(diag or "", reasons.WEAK)
              or reasons.reason_from_text(fallback_text, reasons.STRONG)
              or reasons.reason_from_text(fallback_text, reasons.WEAK)
              or _reason_from_class(code))
    reason = reasons.refine(reason, code, " ".join(filter(None, (diag, context))))
    if action == "delayed" and reason in ("undefined", None):
        reason = "expired"
    return FailedRecipient(address=address, status=code, reason=reason,
                           kind=severity.decide(reason, code, reply, diag or ""), diagnostic=diag,
                           action=action, original_address=original)


def _choose_status(field: str | None, diag: str, context: str, notice_text: str) -> str | None:
    """The most precise code: the remote server's own reply code beats the
    reporting MTA's summary, and a specific code beats a generic one."""
    replied = status.find_replied_status(diag)
    if replied and not (status.is_generic(replied) and field and not status.is_generic(field)):
        return replied
    in_diag = status.find_status(diag)
    if in_diag and (field is None or (status.is_generic(field) and in_diag[0] == field[0])):
        field = in_diag
    if field is None or status.is_generic(field):
        for text in (context, notice_text):
            found = status.find_status(text)
            if found and not status.is_generic(found) and (field is None or found[0] == field[0]):
                return found
    return field or status.find_status(notice_text)


def _reason_from_class(code: str | None) -> str:
    if code and code.startswith("4"):
        return "expired"
    return "undefined"


def _dedupe(recips: list[FailedRecipient]) -> list[FailedRecipient]:
    seen: set[str] = set()
    out = []
    for r in recips:
        if r.address.lower() not in seen:
            seen.add(r.address.lower())
            out.append(r)
    return out


def classify_reply(address: str, reply: str) -> FailedRecipient:
    """Classify a relay's refusal of ADDRESS during delivery, as a report's recipient would be."""
    return build_recipient(address, None, reply, "failed", None)
