"""A post arrives at LIST@: read its facts, run the rules, and act on the one decision."""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.orm import Session

from listd import audit
from listd.automatic_mail import assess
from listd.deliverability.arc import seals_for
from listd.deliverability.authentication import AuthResults, verify_incoming
from listd.distribute.post import accept_post, render_for_list
from listd.distribute.render import ListView
from listd.doors import is_signed_in
from listd.posting import notices
from listd.posting.answer_loop import read_rhythm, record_quick_answer
from listd.posting.decision import Decision, Verdict
from listd.posting.moderation import hold_post
from listd.posting.pipeline import evaluate
from listd.posting.post import Post, read_post
from listd.posting.prepared import PreparedPost
from listd.posting.rules.answer_loop import AnswerLoop
from listd.processing.budget import Budget
from listd.processing.delivery import Delivery, Outcome
from listd.runtime import Runtime

log = logging.getLogger("listd.posting")


def prepare_post(session: Session, runtime: Runtime, delivery: Delivery,
                 budget: Budget) -> PreparedPost:
    """The slow part of taking a post, for the inbound worker to do before its write
    transaction: DNS checks of who sent it (within BUDGET) and its rendering for the list.
    SESSION is only read from."""
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    post = _read(session, runtime, delivery)
    budget.check("reading the post")
    authentication = arrival_authentication(runtime, delivery, post, budget)
    budget.check("checking who sent the post")
    submitted = delivery.inbound.message_id if is_signed_in(delivery.inbound.peer) else None
    outgoing = render_for_list(runtime, ListView.of(mailing_list, runtime.config),
                               delivery.raw, budget, submitted=submitted)
    return PreparedPost(authentication=authentication, outgoing=outgoing, facts=post)


def _read(session: Session, runtime: Runtime, delivery: Delivery) -> Post:
    assert delivery.mailing_list is not None
    post = read_post(session, delivery.mailing_list, delivery.message, delivery.raw,
                     delivery.sender, runtime.config.robot, delivery.inbound.id)
    if is_signed_in(delivery.inbound.peer):
        post = replace(post, submitted_by=delivery.inbound.peer)
    return post


def process_post(session: Session, runtime: Runtime, delivery: Delivery) -> Outcome:
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    # Prepared by the inbound worker outside this transaction; here only for other callers.
    prepared = delivery.prepared_post or prepare_post(
        session, runtime, delivery, Budget.of(runtime.config.processing))
    post = _with_rhythm(session, runtime, delivery, prepared.facts)
    authentication = prepared.authentication
    if authentication is not None:
        post = replace(post, authentication=authentication)
    verdict = evaluate(post)
    poster = post.poster or delivery.sender
    about = f"{verdict.rule}: {verdict.reason}"
    audit_detail = {"rule": verdict.rule, "reason": verdict.reason,
                    "message_id": post.message_id}
    if verdict.decision is Decision.ACCEPT:
        accept_post(session, runtime, mailing_list, delivery.raw, delivery.inbound.message_id,
                    arrival_auth=authentication, outgoing=prepared.outgoing,
                    signed_in=is_signed_in(delivery.inbound.peer))
        audit.record(session, audit.SYSTEM_ACTOR, "post.accepted", mailing_list, poster,
                     **audit_detail)
        return Outcome(f"accepted from {poster}", queued_mail=True)
    if verdict.decision is Decision.HOLD:
        loop = verdict.rule == AnswerLoop.name
        held = hold_post(session, runtime, mailing_list, message_id=delivery.inbound.message_id,
                         raw=delivery.raw, sender=poster, subject=post.subject, verdict=verdict,
                         notify=not loop or AnswerLoop.first_hold(post))
        # A responder in a loop would answer the notice too.
        told = not loop and _tell_poster_held(session, delivery, post)
        return Outcome(f"held as #{held.id} ({about})"
                       + ("" if told else "; the poster was not told"), queued_mail=True)
    if verdict.decision is Decision.REJECT:
        told = _tell_poster(session, runtime, delivery, post, verdict)
        audit.record(session, audit.SYSTEM_ACTOR, "post.rejected", mailing_list, poster,
                     notified=told, **audit_detail)
        return Outcome(f"rejected ({about})" + ("" if told else "; the poster was not told"),
                       queued_mail=told)
    audit.record(session, audit.SYSTEM_ACTOR, "post.discarded", mailing_list, poster,
                 **audit_detail)
    return Outcome(f"discarded ({about})")


def _with_rhythm(session: Session, runtime: Runtime, delivery: Delivery, post: Post) -> Post:
    """POST with its answer rhythm read (the loop breaker's facts), a quick answer recorded."""
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    now = runtime.clock.now()
    rhythm = read_rhythm(session, mailing_list, delivery.message, post.posters, now)
    if rhythm.quick:
        record_quick_answer(session, mailing_list, post.poster, now)
    return replace(post, rhythm=rhythm)


def arrival_authentication(runtime: Runtime, delivery: Delivery, post: Post,
                           budget: Budget) -> AuthResults | None:
    """Who really sent the post (DKIM, SPF, DMARC), computed only where it is used: for a
    post claiming an owner's From on a list that requires authentication, and for ARC
    sealing. Within BUDGET's DNS time (past it, temperror results)."""
    config = runtime.config
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    needed = (post.settings.require_owner_authentication and post.claims_owner) or \
        seals_for(config.arc, mailing_list.domain.name)
    if not needed:
        return None
    peer = delivery.inbound.peer or None
    return verify_incoming(delivery.raw, envelope_sender=delivery.sender, client_ip=peer,
                           config=config, dmarc=runtime.dmarc,
                           timeout=budget.dns_left(config.dns.timeout * 3))


def _tell_poster_held(session: Session, delivery: Delivery, post: Post) -> bool:
    """Tell a person that the post waits for a moderator; never a program, which could answer
    the notice and start a loop."""
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    if not post.poster or post.auto_reply or not post.settings.held_notice or \
            assess(delivery.message, delivery.sender):
        return False
    notices.send_list_notice(
        session, mailing_list, "held_waiting", [post.poster], in_reply_to=post.message_id,
        subject=post.subject or "(no subject)", owner=notices.owner_address(mailing_list),
        days=post.settings.held_expire_days)
    return True


def _tell_poster(session: Session, runtime: Runtime, delivery: Delivery, post: Post,
                 verdict: Verdict) -> bool:
    if not post.poster or post.auto_reply:
        return False
    mailing_list = delivery.mailing_list
    assert mailing_list is not None
    template = "post_administrivia" if verdict.rule == "administrivia" else "post_rejected"
    notices.send_list_notice(
        session, mailing_list, template, [post.poster], attachment=delivery.raw,
        in_reply_to=post.message_id, subject=post.subject or "(no subject)",
        reason=verdict.reason, owner=notices.owner_address(mailing_list),
        robot=notices.robot_address(mailing_list, runtime.config.robot))
    return True
