"""Hard or soft: the one place that decides, from the status code, the reason and the wording.

A failure is hard when it says the address itself is dead for good; everything else is soft,
even under a 5.x.x code (a full mailbox, a rate limit, greylisting, refused content say nothing
about the address) — and a "no such user" or "account closed" is hard even under a 4.x.x code,
which servers use loosely. Each phrasing below names where it is said, so a new rule is
added for a family of servers, not for one sample.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from listd.bounce.report import Kind

# Reasons that mean the address itself is dead. ``notaccept`` only counts when the refusal is
# permanent (the domain publishes a null MX, RFC 7505).
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})


@dataclass(frozen=True)
class Phrasing:
    kind: Kind
    reason: str
    pattern: re.Pattern[str]
    source: str


def _p(kind: Kind, reason: str, rx: str, source: str) -> Phrasing:
    return Phrasing(kind, reason, re.compile(rx), source)


H, S = Kind.HARD, Kind.SOFT
# Tried in order on the lower-cased, whitespace-folded diagnostic; the first match decides.
# Soft ones come first: "mailbox full" beats a 5.1.1 that a server attached to it.
PHRASINGS: tuple[Phrasing, ...] = (
    _p(S, "mailboxfull", r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|full)"
       r"|insufficient (?:user )?quota|inbox is full|boîte (?:aux lettres )?pleine"
       r"|postfach (?:ist )?voll|buzón (?:está )?lleno",
       "RFC 3463 X.2.2 texts; Postfix/Dovecot 'over quota', Exchange 'mailbox full', "
       "Gmail 'inbox is full'; French, German, Spanish provider texts"),
    _p(S, "toomanyconn", r"rate[- ]limit|too many (?:messages|connections|recipients)"
       r"|throttl|try again later.{0,40}(?:rate|volume)|sending limit",
       "Gmail 421 4.7.28 / 450 4.2.1 rate limits, Yahoo TS01/TS03, Outlook.com throttling"),
    _p(S, "blocked", r"grey ?list|gray ?list|greylisted|try again in \d+ (?:seconds|minutes)",
       "postgrey, Exim greylisting ACLs, Rspamd 451 greylisting"),
    _p(S, "spamdetected", r"content (?:was )?(?:rejected|refused|not accepted)"
       r"|message (?:content )?(?:refused|rejected) (?:due to|because of|as) (?:its )?content",
       "Exchange Online 5.7.1 content filtering, Proofpoint and Mimecast content refusals"),
    _p(H, "suspend", r"(?:account|mailbox|address) (?:has been |was |is )?(?:permanently )?"
       r"(?:closed|terminated|deleted|cancell?ed|removed)"
       r"|(?:permanently|indefinitely) (?:disabled|suspended|deactivated)"
       r"|(?:disabled|suspended|deactivated) .{0,30}(?:permanently|for good)"
       r"|no longer accept(?:s|ing)? (?:any )?(?:e-?mail|mail|messages)"
       r"|suspended (?:for good|permanently)|no longer (?:active|in use|valid|exists?)"
       r"|compte (?:a été )?(?:fermé|supprimé|clôturé)|konto (?:wurde )?(?:gelöscht|geschlossen)"
       r"|cuenta (?:ha sido )?(?:cerrada|eliminada|cancelada)",
       "Yahoo/AOL 'account closed', Outlook.com 'mailbox no longer active', ISP closures; "
       "French, German, Spanish provider texts"),
    _p(H, "userunknown", r"no such (?:user|mailbox|recipient)|user unknown|unknown user"
       r"|(?:user|mailbox|recipient) (?:does not|doesn'?t) exist|mailbox not found"
       r"|utilisateur inconnu|destinataire inconnu|adresse (?:e-mail )?inconnue"
       r"|benutzer unbekannt|empfänger unbekannt|unbekannter empfänger"
       r"|usuario (?:desconocido|no existe)|destinatario desconocido",
       "RFC 5321 550 texts as Postfix, Exim, Sendmail, qmail, Exchange write them (also "
       "under 4xx from misconfigured or greylisting servers); French, German, Spanish"),
)
# Deliberately absent: a bare "account disabled" / "discontinued" (Gmail 5.2.1, Yahoo #102,
# au/ezweb) stays soft, as the shared corpus (Sisimai's 'suspend') labels it; only closures
# said to be for good are hard.


# Reasons that put the refusal on the message or the sender (or on where it was refused, as
# a DATA-phase "user unknown" that was really a filter): a dead-address phrasing quoted inside
# such a refusal does not make it hard.
NOT_ABOUT_THE_ADDRESS = frozenset({
    "filtered", "spamdetected", "virusdetected", "contenterror", "blocked", "policyviolation",
    "authfailure", "norelaying", "requireptr", "securityerror", "mesgtoobig", "rejected"})


def matching(text: str) -> Phrasing | None:
    flat = " ".join((text or "").split()).lower()
    return next((p for p in PHRASINGS if p.pattern.search(flat)), None)


def decide(reason: str | None, status: str | None, reply: str | None, text: str) -> Kind:
    """HARD only when the address itself is dead; see the table above."""
    phrasing = matching(text)
    if phrasing is not None and not (phrasing.kind is Kind.HARD
                                     and reason in NOT_ABOUT_THE_ADDRESS):
        return phrasing.kind
    if reason in HARD_REASONS:
        return Kind.HARD
    if reason == "notaccept":
        permanent = (status or "").startswith("5") or (reply or "").startswith("5")
        return Kind.HARD if permanent else Kind.SOFT
    return Kind.SOFT
