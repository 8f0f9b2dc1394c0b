"""Reason names from the wording of an error message.

Each rule states something servers of many vendors say for the same cause
(the RFC 5321 reply texts, the stock messages of the common MTAs and of the
big mailbox providers).  Rules are tried in order; the first match wins, so
the more specific causes come before the generic words.
"""

from __future__ import annotations

import functools
import re

_Rule = tuple[str, re.Pattern[str]]


def _rules(*pairs: tuple[str, str]) -> tuple[_Rule, ...]:
    # Texts are lower-cased once before matching; case-sensitive patterns
    # are markedly faster than IGNORECASE ones.
    return tuple((name, re.compile(rx)) for name, rx in pairs)


# Tried before the status code: wording that names a cause precisely, which
# beats the generic or misused codes servers attach to it.
STRONG: tuple[_Rule, ...] = _rules(
    ("authfailure", (
     r"\bdmarc\b|\bspf\b.{0,40}(?:fail|check|record|align)|\bdkim\b.{0,40}(?:fail|invalid)"
     r"|sender.{0,40}not (?:pass|authenticated)|not pass(?:ed)? .{0,20}authentication"
     r"|authentication (?:checks? )?fail")),
    ("requireptr", (
     r"reverse (?:dns|lookup|hostname)|\bptr\b|\brdns\b|cannot find your (?:reverse )?hostname"
     r"|ip name (?:lookup|possibly forged)|no (?:reverse|rdns)|hostname .{0,30}not resolve")),
    ("virusdetected", (
     r"virus (?:found|detected|infected)|(?:contains?|infected with) (?:an? )?virus|malware"
     r"|\binfected\b")),
    ("blocked", (
     r"blacklist|blocklist|black list|block list|spamhaus|spamcop|\brbl\b|dnsbl"
     r"|listed (?:at|on|in) .{0,30}(?:bl\b|list)")),
    ("norelaying", (
     r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|not permitted to relay"
     r"|unable to relay|we do not relay|relaying (?:is )?(?:denied|prohibited|not allowed)"
     r"|relay not permitted|open relay|\bno relaying")),
    ("hasmoved", r"has moved|address (?:has )?changed|user not local; please try"),
    ("notaccept",
     r"null mx|does not accept (?:any )?(?:e-?)?mail|accepts? no mail|not accepting (?:any )?mail"),
    ("suspend", (
     r"(?:account|mailbox|user|address)(?: has been| is)? (?:temporarily )?"
     r"(?:disabled|suspended|deactivated|inactive|locked|frozen|blocked by)"
     r"|(?:account|mailbox) .{0,40} is (?:temporarily )?"
     r"(?:disabled|suspended|deactivated|inactive|locked|frozen|blocked by)"
     r"|(?:disabled|suspended|inactive|expired) (?:account|mailbox|user)"
     r"|is not active|has been suspended|not (?:an )?active (?:user|account|mailbox)")),
    ("mailboxfull", (
     r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|full)|exceeded? .{0,20}quota"
     r"|(?:mailbox|storage|mail ?box|disk) (?:size )?(?:limit|space) (?:exceeded|reached)"
     r"|user(?:'s)? (?:disk|mailbox|storage) .{0,20}(?:full|exceeded)|mail ?folder is full"
     r"|exceeded storage allocation|too much mail|account is full|insufficient (?:user )?quota"
     r"|mailbox (?:has )?exceeded|recipient .{0,20}(?:mailbox|inbox) is full|inbox is full"
     r"|boîte (?:aux lettres )?pleine|postfach (?:ist )?voll|buzón (?:está )?lleno")),
    ("exceedlimit", r"message length exceeds administrative limit"),
    ("mesgtoobig", (
     r"(?:message|mail|email) (?:is )?too (?:big|large)|message size .{0,40}exceed"
     r"|exceeds? .{0,30}(?:maximum|size) .{0,30}(?:size|limit)|size limit exceeded"
     r"|message (?:length|size) (?:is )?(?:too|over|greater)")),
    ("hostunknown", (
     r"host (?:or domain name )?(?:not found|unknown)|unknown (?:host|domain)|no such domain"
     r"|domain (?:name )?(?:not found|does not exist|doesn'?t exist|is not valid|unknown)"
     r"|unrouteable mail domain|name service error|no mx (?:record|host)"
     r"|mx .{0,20}not found|host \S+ not found|domain (?:is )?not reachable"
     r"|(?:could|can)n?o?'?t resolve|unresolvable|domain does not have"
     r"|no (?:valid )?(?:mx|mail exchanger)|unable to route")),
    ("userunknown", (
     r"user unknown|unknown user|no such (?:user|mailbox|recipient|account|address|person)"
     r"|(?:mailbox|account|user|recipient|address|addressee|e-?mail address)(?: name)?"
     r" (?:does not|doesn'?t|did not|do not|no longer) exists?"
     r"|(?:user|mailbox|recipient|addressee|account)s? (?:not found|unknown|not exist)"
     r"|unknown (?:recipient|local[- ]part|address|mailbox|e-?mail address)"
     r"|invalid (?:final delivery )?(?:recipient|mailbox|address|user(?:id)?)"
     r"|not a (?:valid|known) (?:mailbox|user|recipient|address)|is not a known user"
     r"|unrouteable address|no mailbox here by that name|recipientnotfound"
     r"|recipient (?:address )?rejected: (?:user|undeliverable|access denied|unknown)"
     r"|not listed in (?:the )?(?:domino|public|address|name)|couldn'?t be found"
     r"|bad destination mailbox|no such (?:local )?user|mailbox not found"
     r"|address (?:is )?(?:invalid|unknown|not valid)|was not found in|no account"
     r"|doesn'?t have an? .{1,40} account|this account does not exist|dd this user"
     r"|utilisateur inconnu|destinataire inconnu|adresse (?:e-mail )?inconnue"
     r"|benutzer unbekannt|empfänger unbekannt|unbekannter empfänger"
     r"|usuario (?:desconocido|no existe)|destinatario desconocido")),
    ("toomanyconn", (
     r"too many (?:connections|concurrent|messages|recipients|sessions)|rate limit"
     r"|rate[- ]limited|throttl|frequency limit|connection frequency|sending limit"
     r"|too (?:many|much) (?:mail|traffic)|exceeded .{0,20}(?:rate|connections)")),
    ("expired", (
     r"delivery time expired|retry time(?:out)? (?:exceeded|reached)|message expired"
     r"|timed? ?out .{0,40}(?:queue|deliver)|too long in (?:the )?queue"
     r"|(?:has not|could not) been delivered (?:for|within)|could not be delivered within"
     r"|been in (?:the )?queue too long|gave up|giving up|expired after|max(?:imum)? .{0,20}time"
     r"|undeliverable for|delivery (?:has )?expired|not (?:be )?delivered for \d")),
    ("spamdetected", (
     r"\bspam\b(?!haus|cop)|junk mail|\buce\b|bulk mail|unsolicited|spam score"
     r"|content (?:was )?(?:rejected|identified)|message (?:looks like|considered)")),
)

# Tried after the status code: generic words that still say *something*.
WEAK: tuple[_Rule, ...] = _rules(
    ("blocked", (
     r"blacklist|blocklist|black list|block list|spamhaus|spamcop|\brbl\b|dnsbl|listed (?:at|on|in)"
     r"|reputation|client host .{0,20}(?:rejected|blocked)|connection (?:refused|rejected)"
     r"|ip .{0,40}(?:blocked|banned|rejected)|(?:blocked|banned|denied) .{0,30}\bip\b|\bblocked\b"
     r"|access denied|banned|refuse")),
    ("rejected", (
     r"sender .{0,40}(?:rejected|refused|denied|blocked|unknown|invalid|not allowed)"
     r"|mail from .{0,40}(?:rejected|refused)|domain of sender|sender verify|invalid sender"
     r"|bad sender|sender domain|envelope sender|syntax error in parameters")),
    ("securityerror", (
     r"authentication required|\btls\b|starttls|encryption required|not authorized|unauthorized"
     r"|security (?:policy|error|reasons?)")),
    ("policyviolation", r"polic(?:y|ies)|prohibited|not (?:allowed|permitted)|violat"),
    ("notcompliantrfc", (
     r"rfc ?(?:5322|2822|822|5321|2821)|not .{0,20}compliant|does not comply|malformed"
     r"|(?:duplicate|multiple) .{0,20}header")),
    ("contenterror", r"content (?:error|rejected)|header (?:error|line too long)|line too long"),
    ("filtered", r"filter"),
    ("systemfull", r"insufficient (?:system )?storage|disk full|out of (?:disk|storage) space"),
    ("mailererror", (
     r"mailer error|command (?:died|failed)|program (?:exited|failed)|procmail"
     r"|exited with|pipe to")),
    ("networkerror", (
     r"connection (?:timed out|reset|lost|closed)|network (?:error|unreachable)|no route to host"
     r"|lost connection|loops back|mail loop|too many hops|hop count|unable to connect"
     r"|could not connect|connect to .{0,60}(?:failed|timed out)|dns (?:error|failure)")),
    ("systemerror", (
     r"system error|internal (?:server )?error|server error"
     r"|local (?:configuration )?(?:error|problem)|temporary (?:local )?(?:problem|failure)"
     r"|try again later|service (?:not )?(?:un)?available")),
    ("syntaxerror", r"syntax error|bad sequence of commands|command unrecognized"),
    ("userunknown", r"mailbox unavailable"),
    ("rejected", r"\brejected\b|\bdenied\b"),
)


def reason_from_text(text: str, rules: tuple[_Rule, ...]) -> str | None:
    if not text:
        return None
    return _first_match(" ".join(text.split()).lower(), rules)


@functools.lru_cache(maxsize=512)
def _first_match(flat: str, rules: tuple[_Rule, ...]) -> str | None:
    # Cached: every recipient of a report is also checked against the
    # report's whole notice.
    for name, rx in rules:
        if rx.search(flat):
            return name
    return None


# The reply was to the message data, not to RCPT TO: whatever it says about
# the recipient, it was the content that a filter turned down.
_DATA_PHASE = re.compile(
    r"in reply to (?:end of )?data|after (?:end of )?data\b|smtp command:? data\b",
    re.IGNORECASE)
# DNS failures that the resolver itself says may go away.
_TEMPORARY_DNS = re.compile(
    r"not found, try again|malformed or unexpected name server|servfail|temporary (?:dns|lookup)"
    r"|timed out", re.IGNORECASE)


def refine(reason: str, status: str | None, text: str) -> str:
    """Adjust a reason for where and how the failure happened."""
    flat = " ".join(text.split())
    if reason == "userunknown" and (_DATA_PHASE.search(flat)):
        return "filtered"
    if reason == "hostunknown" and ((status or "").startswith("4")
                                    or _TEMPORARY_DNS.search(flat)):
        return "networkerror"
    return reason
