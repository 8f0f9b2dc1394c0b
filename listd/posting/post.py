"""The facts about one post that the rules look at, read once from the message and the DB.

Rules never touch the database or parse the message themselves: `read_post` does both here,
so each rule is a pure function of a `Post` and can be tested with a `Post` built by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from listd import header_values
from listd.addresses import header_address, scheme_address, try_normalize
from listd.automatic_mail import assess, header
from listd.bounce.message import PARSE_ERRORS
from listd.deliverability.authentication import AuthResults
from listd.models import AddressPattern, InboundMessage, MailingList, Member, Role, StoredMessage
from listd.posting.answer_loop import AnswerRhythm
from listd.posting.patterns import PatternKind, first_match
from listd.settings import ListSettings

_HEADER_PARSER = BytesHeaderParser(policy=compat32)
# The facts' queries, built once (each post reads them; building a statement costs more than
# running it on SQLite).
_ROLES = select(Member.address, Member.role).where(
    Member.list_id == bindparam("list_id"), Member.address.in_(bindparam("posters",
                                                                         expanding=True)))
_PATTERNS = select(AddressPattern.kind, AddressPattern.pattern).where(
    AddressPattern.list_id == bindparam("list_id"))
_SEEN = (select(InboundMessage.id)
         .join(StoredMessage, StoredMessage.id == InboundMessage.message_id)
         .where(InboundMessage.list_id == bindparam("list_id"),
                InboundMessage.destination == "post",
                StoredMessage.message_id == bindparam("message_id")))
_SEEN_BEFORE = _SEEN.where(InboundMessage.id < bindparam("inbound_id")).limit(1)
_SEEN_ANY = _SEEN.limit(1)
# Administrivia looks at the subject and at this many non-blank lines of the body.
FIRST_LINES = 5


@dataclass(frozen=True)
class Post:
    list_address: str
    robot_address: str
    settings: ListSettings
    size: int
    subject: str = ""
    first_lines: tuple[str, ...] = ()
    message_id: str | None = None
    # Addresses in To and Cc.
    recipient_count: int = 0
    # The poster as named by From: and by the envelope sender, normalised, From: first.
    posters: tuple[str, ...] = ()
    # The roles any of the posters holds on this list.
    roles: frozenset[Role] = field(default_factory=frozenset)
    # A poster is on the list's accept list (approved once, not held again).
    accepted: bool = False
    # The ban pattern a poster matches, if any.
    banned_by: str | None = None
    # The same Message-ID was already posted to this list.
    seen_before: bool = False
    # RFC 3834 auto-reply or vacation responder.
    auto_reply: bool = False
    # From: names an owner or moderator of the list.
    claims_owner: bool = False
    # Whether it answers, within seconds, a copy the list sent the poster (the loop breaker).
    rhythm: AnswerRhythm = field(default_factory=AnswerRhythm)
    # DKIM/SPF/DMARC results on arrival, when they were computed (see intake.py).
    authentication: AuthResults | None = None
    # The signed-in door that submitted the post on its poster's behalf ("api:KEY"), which
    # vouches for the From: as authentication results would; None for mail from SMTP.
    submitted_by: str | None = None
    # The list's language: the reasons the rules give are written in it.
    language: str = "en"

    @property
    def poster(self) -> str:
        return self.posters[0] if self.posters else ""

    @property
    def is_member(self) -> bool:
        return bool(self.roles)

    @property
    def is_owner_or_moderator(self) -> bool:
        return bool(self.roles & {Role.OWNER, Role.MODERATOR})


def text_lines(message: EmailMessage, limit: int = FIRST_LINES) -> tuple[str, ...]:
    """The first non-blank, non-quoted lines of the plain-text body (none if unreadable)."""
    try:
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
    except PARSE_ERRORS:
        return ()
    if not isinstance(text, str):
        return ()
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(">"):
            continue
        if stripped in ("--", "-- "):
            break
        lines.append(stripped)
        if len(lines) >= limit:
            break
    return tuple(lines)


def read_post(session: Session, mailing_list: MailingList, message: EmailMessage, raw: bytes,
              envelope_sender: str, robot: str, inbound_id: int | None = None) -> Post:
    # The header block again, parsed the cheap way (compat32 parses nothing until asked;
    # policy.default parses every structured header on each access, ten times slower).
    headers = _HEADER_PARSER.parsebytes(_header_block(raw))
    posters = tuple(dict.fromkeys(
        a for a in (header_address(header(headers, "From")), try_normalize(envelope_sender))
        if a))
    roles: frozenset[Role] = frozenset()
    claims_owner = False
    # The facts' statements on the connection: the ORM's execution path costs more than
    # SQLite takes to run them. Flushed first, as Session.execute would autoflush.
    session.flush()
    connection = session.connection()
    if posters:
        held_roles = connection.execute(_ROLES, {"list_id": mailing_list.id,
                                                 "posters": list(posters)}).all()
        roles = frozenset(role for _address, role in held_roles)
        from_address = header_address(header(headers, "From"))
        claims_owner = any(address == from_address and role in (Role.OWNER, Role.MODERATOR)
                           for address, role in held_roles)
    patterns: dict[str, list[str]] = {PatternKind.ACCEPT: [], PatternKind.BAN: []}
    for kind, pattern in connection.execute(_PATTERNS, {"list_id": mailing_list.id}):
        patterns.setdefault(kind, []).append(pattern)
    message_id = header(headers, "Message-ID") or None
    recipients = [a for _, a in getaddresses(_all(headers, "To") + _all(headers, "Cc")) if a]
    return Post(
        list_address=mailing_list.address,
        robot_address=scheme_address(robot, mailing_list.domain.name),
        settings=ListSettings.of(mailing_list),
        size=len(raw),
        # One line, no control characters: it is kept (PostgreSQL takes no NUL in text),
        # shown in notices, and matched by rules.
        subject=header_values.header_text(_decoded(header(headers, "Subject")), limit=998),
        first_lines=text_lines(message),
        message_id=message_id,
        recipient_count=len(recipients),
        posters=posters,
        roles=roles,
        accepted=first_match(patterns[PatternKind.ACCEPT], posters) is not None,
        banned_by=first_match(patterns[PatternKind.BAN], posters),
        seen_before=message_id is not None and _seen_before(
            connection, mailing_list, message_id, inbound_id),
        auto_reply=assess(headers).marked_auto_reply,
        claims_owner=claims_owner,
        language=mailing_list.language,
    )


def _header_block(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw[: end if end >= 0 else len(raw)]


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value))).strip()
    except PARSE_ERRORS:
        return value


def _all(message: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in message.get_all(name, [])]
    except PARSE_ERRORS:
        return []


def _seen_before(connection: Connection, mailing_list: MailingList, message_id: str,
                 inbound_id: int | None) -> bool:
    values: dict[str, object] = {"list_id": mailing_list.id, "message_id": message_id}
    if inbound_id is None:
        return connection.execute(_SEEN_ANY, values).first() is not None
    return connection.execute(_SEEN_BEFORE, {**values, "inbound_id": inbound_id}
                              ).first() is not None
