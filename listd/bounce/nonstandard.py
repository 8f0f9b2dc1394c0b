"""Plain-text (non-RFC 3464) reports: qmail, Exim, Gmail, Exchange, Notes,
Yahoo, Courier and the many MTAs that just write prose.

Recognition is by wording and structure, never by a vendor's address: who
the report comes from, what its subject says, what its notice says, and where
the addresses sit in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from listd.bounce import message as m

_DAEMON_FROM = re.compile(
    r"mailer[-_ ]?daemon|post[-_]?master|mail delivery (?:sub)?system|mail ?administrator"
    r"|delivery[-_ ]?(?:status|notification|subsystem)|\bbounces?\b|mdaemon|\bmta\b"
    r"|mail ?system|mail ?server|nobody@|noreply.{0,30}(?:mail|daemon)", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|not (?:be )?delivered|delivery (?:status|failure|failed|problem|"
    r"notification|report|error)|returned (?:mail|message|to sender)|failure notice"
    r"|mail delivery (?:failed|failure|error|system)|non[- ]?delivery|nondeliverable|bounced?"
    r"|could not (?:be )?(?:delivered|send)|unable to deliver|mail system error|delivery has failed"
    r"|failed delivery|message (?:not delivered|delivery failure|rejected)|unzustellbar"
    r"|non remis|no entregado|error sending message|rejected|failed mail|warning"
    r"|delayed|delay|returned|returning|failed|failure", re.IGNORECASE)
_FAILURE_WORDS = re.compile(
    r"could not be delivered|couldn'?t be delivered|was not delivered|wasn'?t (?:able to be )?"
    r"delivered|not (?:be )?delivered|permanent(?:ly)? (?:error|failure|fatal|failed)"
    r"|failed permanently|undeliverable|delivery (?:to the following|has failed|failed)"
    r"|wasn'?t able to deliver|unable to deliver|following address(?:es|\(es\))? failed"
    r"|could not deliver|couldn'?t deliver|failed to deliver|returned to (?:the )?sender"
    r"|delivery (?:failure|problem|error)|fatal error|message (?:was )?(?:rejected|bounced)"
    r"|did not reach|(?:can|could)(?:no|')t be delivered|cannot be delivered|not reach"
    r"|delivery is not possible|rejected your message|mail delivery failed"
    r"|(?:user|recipient|address) unknown|no such user|error (?:occurred|while)"
    r"|hard bounce|message (?:was )?returned|your message .{0,60}(?:rejected|failed)"
    r"|has been (?:rejected|returned)|delivery .{0,20}(?:unsuccessful|failed)"
    r"|giving up|gave up|it was rejected"
    # French, German, Spanish reports (Orange, La Poste, GMX, T-Online, Telefónica, …).
    r"|n'a pas pu (?:être )?(?:remis|distribué|livré|délivré)|non (?:remis|distribuable)"
    r"|konnte nicht (?:zugestellt|ausgeliefert)|nicht zugestellt|unzustellbar"
    r"|no (?:se )?(?:pudo|ha podido) (?:ser )?entrega|no (?:ha sido|fue) entregado",
    re.IGNORECASE)
_DELAY_WORDS = re.compile(
    r"warning message only|do not need to resend|will (?:continue to|keep) (?:try|retry|attempt)"
    r"|still (?:be )?(?:trying|retrying|attempting)|has been delayed|delivery (?:is )?delayed"
    r"|delayed mail|not yet been delivered|will (?:be )?retr(?:y|ied)|retrying", re.IGNORECASE)
_PERMANENT = re.compile(
    r"permanent|failed|giving up|gave up|could not be delivered|undeliverable|rejected",
    re.IGNORECASE)

_ADDR = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]"
# Addresses in the places where reports name the failed recipient.
_STRUCTURAL = (
    # Start of a line: "<addr>:", "addr: reason", "  addr", "addr on <date>", "addr (addr)".
    re.compile(rf"^\s*(?:[*>-]\s*)?[<\"\[(]?(?:(?:smtp|rfc822|mailto):)?\s*({_ADDR})\s*[>\")\]]?"
               rf"\s*(?::|\.\.\.|$|\(|,|;|\s-|\s+on\s|\s+<|\s+\[|\s{{2}})",
               re.IGNORECASE | re.MULTILINE),
    re.compile(rf"rcpt to:?\s*<?({_ADDR})", re.IGNORECASE),
    re.compile(rf"<({_ADDR})>\s*(?:\.\.\.|:)", re.IGNORECASE),
    re.compile(rf"(?:recipient|addressee|deliver(?:ed|y)? to|delivering to|failed recipient"
               rf"|original-recipient|final-recipient|was not delivered to|address|for)"
               rf"(?:\s*(?:address(?:es)?|\(s\)|rfc822|;|:))*\s*[<\"(]?({_ADDR})", re.IGNORECASE),
)
_ANY_ADDR = re.compile(_ADDR)
_SENDER_CONTEXT = re.compile(
    r"(?:mail from|envelope[- ]from|from:|sender|sent by|return-path|reply-to|message-id"
    r"|contact|postmaster at|by mail from)[^@\n]{0,12}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TextRecipient:
    address: str
    diagnostic: str


def bounce_signals(msg: Message, notice: str) -> tuple[bool, bool, bool]:
    """(from a mail daemon, bounce-like subject, failure wording in notice)."""
    sender = m.header(msg, "From") + " " + m.header(msg, "Return-Path")
    return (bool(_DAEMON_FROM.search(sender)) or str(msg.get("Return-Path", "")).strip() == "<>",
            bool(_BOUNCE_SUBJECT.search(m.header(msg, "Subject"))),
            bool(_FAILURE_WORDS.search(" ".join(notice.split()))))


def is_delay_only(msg: Message, notice: str) -> bool:
    """A plain-text warning that delivery is still being retried."""
    flat = " ".join(notice.split())
    if not _DELAY_WORDS.search(flat):
        subject = m.header(msg, "Subject")
        if not re.search(r"\bdela(?:y|yed)\b|warning", subject, re.IGNORECASE):
            return False
    return not _PERMANENT.search(re.sub(_DELAY_WORDS, "", flat))


def extract(notice: str, exclude: set[str],
            sender: frozenset[str] | set[str] = frozenset()) -> list[TextRecipient]:
    """Failed recipients named in a notice, each with the notice text about it.

    ``exclude`` never count (the report's own sender).  ``sender`` (who the
    report goes to) only counts where a recipient is announced, at the start
    of a line or in RCPT TO: a server quoting the sender in its refusal must
    not make the sender a failed recipient.
    """
    lines = notice.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    hits = (_find(lines, exclude, structural=True, sender=set(sender))
            or _find(lines, exclude | set(sender), structural=False))
    segments: dict[str, list[str]] = {}
    for n, (line_no, addr) in enumerate(hits):
        # A segment runs to the next line naming a different address: reports
        # list each recipient followed by its error (sometimes twice, in two
        # languages).
        end = next((ln for ln, a in hits[n + 1:] if a.lower() != addr.lower()
                    and ln > line_no), len(lines))
        seg = "\n".join(lines[line_no:end]).strip()
        parts = segments.setdefault(addr.lower(), [addr])
        if seg not in parts[1:]:
            parts.append(seg)
    return [TextRecipient(parts[0], "\n".join(parts[1:])) for parts in segments.values()]


def _find(lines: list[str], exclude: set[str], structural: bool,
          sender: set[str] | None = None) -> list[tuple[int, str]]:
    """Every (line number, address) in recipient position, repeats included."""
    found: list[tuple[int, str]] = []
    for no, line in enumerate(lines):
        if not structural and re.match(r"\s*(?:from|to|cc|reply-to|message-id|date|sender):",
                                       line, re.IGNORECASE):
            continue
        candidates: list[tuple[int, str]] = []
        if structural:
            in_diagnostic = _under_recipient_line(lines, no, found)
            for strong, rx in enumerate(_STRUCTURAL):
                if strong == 3 and in_diagnostic:
                    continue
                candidates += [(mt.start(1), mt.group(1)) for mt in rx.finditer(line)
                               if strong < 2 or mt.group(1).lower() not in (sender or ())]
        else:
            candidates = [(mt.start(), mt.group(0)) for mt in _ANY_ADDR.finditer(line)]
        if structural and _SENT_BY.search(_previous_line(lines, no)):
            continue
        seen_here: set[str] = set()
        for pos, addr in sorted(candidates):
            addr = m.clean_address(addr)
            key = addr.lower()
            if key in seen_here or key in exclude or _is_sender_context(line, pos):
                continue
            if _looks_like_message_id(addr) or not m.is_complete_address(addr) \
                    or _cut_by_wrap(lines, no, pos, addr):
                continue
            seen_here.add(key)
            found.append((no, addr))
    return found


# Hard-wrapped text (quoted-printable soft breaks undone badly, 72-78 column wraps) can
# cut an address in two; neither piece is an address.
_WRAP_WIDTH = 60
_ADDRESS_CHAR = re.compile(r"[A-Za-z0-9._+\-]")


def _cut_by_wrap(lines: list[str], no: int, pos: int, addr: str) -> bool:
    line = lines[no]
    before = lines[no - 1] if no > 0 else ""
    after = lines[no + 1] if no + 1 < len(lines) else ""
    tail_of_previous = pos == 0 and len(before) >= _WRAP_WIDTH and bool(
        _ADDRESS_CHAR.fullmatch(before[-1:]))
    end = line.find(addr, pos) + len(addr)
    head_of_next = end == len(line) and len(line) >= _WRAP_WIDTH and bool(
        _ADDRESS_CHAR.fullmatch(after[:1]))
    return tail_of_previous or head_of_next


def _under_recipient_line(lines: list[str], no: int, found: list[tuple[int, str]]) -> bool:
    """Line NO is indented deeper than a line above it, in the same block (no blank line
    between), that named a recipient. Exim, qmail and Sendmail list each failed address,
    then its error indented under it: an address in the error's prose ("mail for …") is
    diagnostic, not another recipient."""
    named = {line_no for line_no, _ in found}
    depth = _indent(lines[no])
    for above in range(no - 1, -1, -1):
        if not lines[above].strip():
            return False
        if above in named and _indent(lines[above]) < depth:
            return True
    return False


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


_SENT_BY = re.compile(r"(?:sent by|sender|from|originator)\s*:?\s*$", re.IGNORECASE)


def _previous_line(lines: list[str], no: int) -> str:
    """The last non-blank line before line ``no`` ('' if none)."""
    for line in reversed(lines[max(0, no - 3):no]):
        if line.strip():
            return line
    return ""


def _is_sender_context(line: str, pos: int) -> bool:
    return bool(_SENDER_CONTEXT.search(line[:pos].rstrip(" <\"'(")))


def _looks_like_message_id(addr: str) -> bool:
    local, _, domain = addr.partition("@")
    if "." not in domain:
        return True
    # Message-IDs and VERP-less tracking tokens are long runs of hex / digits.
    return bool(re.fullmatch(r"[0-9A-Fa-f.$\-_]{16,}", local))
