"""Posts submitted by a signed-in door (the API; later the web and `listd post send`).

Such a post is composed here, stored as if it had arrived by SMTP, and then goes through the
same posting rules, moderation and distribution as any other: the door only vouches, through
the inbound row's peer, that its poster is who the From: says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from listd import audit, merge_fields
from listd.addresses import normalize_address
from listd.config import Config
from listd.distribute.submitted import texts_of
from listd.errors import NotFound, UserError
from listd.members import find_member
from listd.models import (
    HeldMessage,
    InboundMessage,
    ListStatus,
    MailingList,
    OutboundEntry,
    OutboundMessage,
    Role,
)
from listd.smtp_in.routing import Refusal, resolve_recipient
from listd.smtp_in.spool import Envelope, store_inbound
from listd.tracking.clicks import clicks_per_link


@dataclass(frozen=True)
class Draft:
    poster: str
    subject: str
    text: str
    html: str | None = None


def compose(mailing_list: MailingList, draft: Draft) -> bytes:
    if not draft.subject.strip():
        raise UserError("subject: a post needs a subject")
    if not draft.text.strip() and not (draft.html or "").strip():
        raise UserError("text: a post needs a text")
    message = EmailMessage()
    message["From"] = draft.poster
    message["To"] = mailing_list.address
    message["Subject"] = " ".join(draft.subject.split())
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=mailing_list.domain.name)
    message["MIME-Version"] = "1.0"
    message.set_content(draft.text or " ")
    if draft.html:
        message.add_alternative(draft.html, subtype="html")
    return message.as_bytes(policy=SMTP)


def submit_post(session: Session, config: Config, mailing_list: MailingList, draft: Draft,
                door: str) -> int:
    """Queue DRAFT as a post by one of the list's owners; the inbound id that tracks it."""
    poster = check_poster(session, mailing_list, draft.poster)
    raw = compose(mailing_list, Draft(poster, draft.subject, draft.text, draft.html))
    return submit_raw(session, config, mailing_list, poster, raw, door)


def check_poster(session: Session, mailing_list: MailingList, address: str) -> str:
    """ADDRESS, normalised, if it is an owner of MAILING_LIST; else a UserError."""
    poster = normalize_address(address)
    if find_member(session, mailing_list, poster, Role.OWNER) is None:
        raise UserError(f"from: {poster} is not an owner of {mailing_list.address}")
    return poster


def submit_raw(session: Session, config: Config, mailing_list: MailingList, poster: str,
               raw: bytes, door: str) -> int:
    """Queue RAW, already composed, as a post by owner POSTER; the inbound id."""
    check_poster(session, mailing_list, poster)
    if mailing_list.status is not ListStatus.ACTIVE:
        raise UserError(f"list {mailing_list.address} is {mailing_list.status.value}")
    route = resolve_recipient(session, config, mailing_list.address)
    if isinstance(route, Refusal):
        raise UserError(f"{mailing_list.address} takes no mail: {route.text}")
    merge_fields.check_texts(texts_of(raw), base_url=config.http.base_url)
    inbound_id = store_inbound(session, raw, Envelope(poster, [route], door))[0]
    audit.record(session, door, "post.submitted", mailing_list, poster, inbound=inbound_id)
    return inbound_id


def post_state(session: Session, mailing_list: MailingList, inbound_id: int
               ) -> dict[str, object]:
    """Where a submitted post stands: in processing, held, or its delivery counts."""
    row = session.get(InboundMessage, inbound_id)
    if row is None or row.list_id != mailing_list.id:
        raise NotFound(f"no post {inbound_id} on {mailing_list.address}")
    state: dict[str, object] = {"id": row.id, "state": row.state.value, "outcome": row.outcome}
    held = session.scalar(select(HeldMessage).where(HeldMessage.message_id == row.message_id))
    if held is not None:
        state["held"] = {"id": held.id, "state": held.state.value, "reason": held.reason}
    outbound = session.scalar(select(OutboundMessage.id).where(
        OutboundMessage.source_message_id == row.message_id, OutboundMessage.kind == "post"))
    if outbound is not None:
        counts = dict(session.execute(
            select(OutboundEntry.state, func.count()).where(
                OutboundEntry.outbound_id == outbound).group_by(OutboundEntry.state)).all())
        state["delivery"] = {"post": outbound,
                             **{s.value: n for s, n in counts.items()}}
        clicked = clicks_per_link(session, outbound)
        if clicked:
            state["clicks"] = [dataclasses.asdict(c) for c in clicked]
    return state
