"""Handing an accepted post to distribution: rendered once, its recipients queued in bulk."""

from __future__ import annotations

from typing import Any, cast

import dkim
from sqlalchemy import CursorResult, Table, insert, select
from sqlalchemy.orm import Session

from listd.addresses import AddressKind, scheme_address
from listd.deliverability.authentication import AuthResults
from listd.deliverability.signing import strip_broken_signatures
from listd.distribute.kept import keep_post
from listd.distribute.mitigation import mitigated
from listd.distribute.render import ListView, render_post, with_archived_at
from listd.distribute.selection import send_of
from listd.distribute.submitted import prepare_submitted
from listd.doors import is_signed_in
from listd.models import InboundMessage, MailingList, OutboundMessage
from listd.processing.budget import Budget
from listd.runtime import Runtime

_OUTBOUND = cast(Table, OutboundMessage.__table__)


def render_for_list(runtime: Runtime, view: ListView, raw: bytes,
                    budget: Budget | None = None, *, submitted: int | None = None) -> bytes:
    """RAW as VIEW's list resends it: DMARC-mitigated, rendered, the author's signature kept
    only where listd changed nothing it covers. Parses and renders, and may ask DNS (the
    poster's DMARC policy, within BUDGET's DNS time): call it outside the write transaction.
    SUBMITTED is the stored post's id when a signed-in door sent it (merge fields, tracking).
    """
    dns_timeout = budget.dns_left(runtime.config.dns.timeout) if budget is not None else None
    source = raw if submitted is None else \
        prepare_submitted(raw, view, submitted, runtime.secret)
    resendable = mitigated(source, view, runtime.dmarc, runtime.config,
                           dns_timeout=dns_timeout)
    if budget is not None:
        budget.check("applying DMARC mitigation")
    rendered = render_post(resendable, view)
    if budget is not None:
        budget.check("rendering the post for the list")
    try:
        return strip_broken_signatures(raw, rendered.raw)
    except dkim.DKIMException:
        # Headers dkimpy cannot parse carry no signature it could check either.
        return rendered.raw


def accept_post(session: Session, runtime: Runtime, mailing_list: MailingList, raw: bytes,
                source_message_id: int | None = None, *,
                arrival_auth: AuthResults | None = None,
                outgoing: bytes | None = None, signed_in: bool = True) -> int:
    """Queue RAW for every member of MAILING_LIST who receives posts, as OUTGOING (from
    `render_for_list`, made before the transaction); without OUTGOING it is rendered here.

    One row (its id is returned); the recipients are queued by the expander (expand.py) in
    batches, after the commit; wake it with `runtime.signals.outbound.set()` once the
    transaction is committed.
    ARRIVAL_AUTH, the post's authentication results when it arrived, is kept for ARC sealing.
    SIGNED_IN False says the post came in by SMTP, so it is no submitted send (those come
    through a signed-in door, post_send.DOOR), and the send is not looked up.
    """
    send = send_of(session, source_message_id) if signed_in else None
    # A test send is a preview for the owners: not archived, not in a digest.
    archived = None if send is not None and send.test \
        else keep_post(session, runtime, mailing_list, raw)
    if outgoing is None:
        outgoing = render_for_list(runtime, ListView.of(mailing_list, runtime.config), raw,
                                   submitted=submitted_post(session, source_message_id))
    if archived:
        # Its archive number is known only now, in the transaction: the one header added here.
        outgoing = with_archived_at(outgoing, archived)
    # A Core insert (every accepted post): no ORM unit of work.
    values: dict[str, Any] = {
        "list_id": mailing_list.id, "source_message_id": source_message_id, "kind": "post",
        "raw": outgoing, "verp": True, "expanded": False, "expanded_through": 0,
        "envelope_sender": scheme_address(mailing_list.name, mailing_list.domain.name,
                                          AddressKind.BOUNCES),
        "created_at": runtime.clock.now(), "send_id": send.id if send is not None else None}
    if arrival_auth is not None:
        # Left out otherwise: SQL NULL (a JSON column would store None as JSON 'null').
        values["arrival_auth"] = arrival_auth.as_record()
    inserted = cast("CursorResult[Any]", session.execute(insert(_OUTBOUND), values))
    key = inserted.inserted_primary_key
    assert key is not None
    outbound_id = int(key[0])
    if send is not None:
        send.outbound_id = outbound_id
    return outbound_id


def submitted_post(session: Session, source_message_id: int | None) -> int | None:
    """SOURCE_MESSAGE_ID if that post came through a signed-in door, else None."""
    if source_message_id is None:
        return None
    peer = session.scalar(select(InboundMessage.peer).where(
        InboundMessage.message_id == source_message_id).limit(1))
    return source_message_id if peer and is_signed_in(peer) else None
