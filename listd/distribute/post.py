"""Handing an accepted post to distribution: rendered once, its recipients queued in bulk."""

from __future__ import annotations

import dkim
from sqlalchemy.orm import Session

from listd.deliverability.authentication import AuthResults
from listd.deliverability.signing import strip_broken_signatures
from listd.distribute.kept import keep_post
from listd.distribute.mitigation import mitigated
from listd.distribute.render import ListView, render_post
from listd.models import MailingList, OutboundMessage
from listd.runtime import Runtime


def accept_post(session: Session, runtime: Runtime, mailing_list: MailingList, raw: bytes,
                source_message_id: int | None = None, *,
                arrival_auth: AuthResults | None = None) -> OutboundMessage:
    """Render RAW for MAILING_LIST and queue it for every member who receives posts.

    Cheap inside the caller's transaction: a DMARC policy lookup (cached, bounded by
    dns.timeout), one render and one row. The recipients are queued by the expander
    (expand.py) in batches, after the commit; wake it with `runtime.signals.outbound.set()`
    once the transaction is committed. ARRIVAL_AUTH, the post's authentication results when
    it arrived, is kept for ARC sealing.
    """
    view = ListView.of(mailing_list, runtime.config)
    archived = keep_post(session, runtime, mailing_list, raw)
    resendable = mitigated(raw, view, runtime.dmarc, runtime.config)
    rendered = render_post(resendable, view, archived)
    try:
        # The author's own signature stays only where listd changed nothing it covers.
        outgoing = strip_broken_signatures(raw, rendered.raw)
    except dkim.DKIMException:
        # Headers dkimpy cannot parse carry no signature it could check either.
        outgoing = rendered.raw
    outbound = OutboundMessage(
        list_id=mailing_list.id, source_message_id=source_message_id, kind="post",
        raw=outgoing, verp=True, expanded=False, expanded_through=0,
        envelope_sender=f"{mailing_list.name}-bounces@{mailing_list.domain.name}",
        created_at=runtime.clock.now(),
        arrival_auth=arrival_auth.as_record() if arrival_auth is not None else None)
    session.add(outbound)
    session.flush()
    return outbound
