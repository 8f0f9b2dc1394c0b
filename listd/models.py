"""The data model: every piece of listd's state lives in these tables.

Timestamps are naive UTC (see clock.py). Enums are stored as short strings so SQLite and
PostgreSQL hold the same values and a new member of an enum needs no type migration.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from listd.addresses import scheme_address
from listd.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {
        dict[str, Any]: JSON, bytes: LargeBinary, dt.datetime: DateTime()}


def str_enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, create_constraint=False, length=16,
                values_callable=lambda e: [m.value for m in e])


class ListStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CLOSED = "closed"
    REJECTED = "rejected"


class Role(enum.StrEnum):
    SUBSCRIBER = "subscriber"
    OWNER = "owner"
    MODERATOR = "moderator"


class DeliveryMode(enum.StrEnum):
    """How a subscriber receives a list; listd.delivery_modes says which are served."""

    MAIL = "mail"
    # RFC 2046 multipart/digest, each post a message/rfc822 part.
    DIGEST = "digest"
    # RFC 1153 plain-text digest.
    DIGESTPLAIN = "digestplain"
    # Subjects, authors and archive links only.
    SUMMARY = "summary"
    NOMAIL = "nomail"


class MemberStatus(enum.StrEnum):
    ENABLED = "enabled"
    SUSPENDED = "suspended"


class InboundState(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    # Received and kept, but no part of listd handles this kind of address yet.
    UNHANDLED = "unhandled"
    # Processing failed repeatedly: kept for the admin, as Mailman's shunt queue.
    SHUNTED = "shunted"


class OutboundState(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


class HeldState(enum.StrEnum):
    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISCARDED = "discarded"
    EXPIRED = "expired"


class Domain(Base):
    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    lists: Mapped[list[MailingList]] = relationship(back_populates="domain")


class MailingList(Base):
    __tablename__ = "lists"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[ListStatus] = mapped_column(str_enum(ListStatus), default=ListStatus.PENDING,
                                               index=True)
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    # When the moderators were last reminded of the posts waiting (once a day at most).
    held_reminded_at: Mapped[dt.datetime | None]
    # Policies and other per-list settings, validated by listd.settings before they are stored.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[dt.datetime | None]

    domain: Mapped[Domain] = relationship(back_populates="lists", lazy="joined")

    @property
    def address(self) -> str:
        return scheme_address(self.name, self.domain.name)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("list_id", "address", "role"),
        # Streams a list's recipients in id order, in batches, without touching other lists.
        Index("ix_members_fanout", "list_id", "role", "status", "delivery_mode", "id"),
        Index("ix_members_address", "address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.SUBSCRIBER)
    delivery_mode: Mapped[DeliveryMode] = mapped_column(str_enum(DeliveryMode),
                                                        default=DeliveryMode.MAIL)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus),
                                                 default=MemberStatus.ENABLED)
    bounce_score: Mapped[float] = mapped_column(Float, default=0.0)
    # When a bounce last raised the score (at most one increase a day).
    last_bounce_at: Mapped[dt.datetime | None]
    # Set while delivery is suspended because of bounces (not by an admin's choice).
    bounce_suspended_at: Mapped[dt.datetime | None]
    bounce_warnings: Mapped[int] = mapped_column(Integer, default=0)
    last_warning_at: Mapped[dt.datetime | None]
    # A probe was sent at the threshold; delivery goes on unless the probe itself bounces.
    probe_sent_at: Mapped[dt.datetime | None]
    subscribed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Sympa's SET CONCEAL: left out of REVIEW for everyone but the owners.
    concealed: Mapped[bool] = mapped_column(Boolean, default=False)


class AddressPattern(Base):
    """A per-list address rule: the accept list of non-members, and banned addresses."""

    __tablename__ = "address_patterns"
    __table_args__ = (UniqueConstraint("list_id", "kind", "pattern"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PendingAction(Base):
    """An action waiting for a confirmation; its token is single-use and expires."""

    __tablename__ = "pending_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(128), unique=True)
    action: Mapped[str] = mapped_column(String(32))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"),
                                                index=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]


class StoredMessage(Base):
    """A message's raw bytes, exactly as received or as listd wrote it."""

    __tablename__ = "messages"
    # Ids are never reused once retention deletes rows (SQLite's AUTOINCREMENT): a held post,
    # a bounce or a report that names an id must never find a newer message under it.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    raw: Mapped[bytes]
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    size: Mapped[int] = mapped_column(Integer)
    # Indexed for retention, which deletes old raw messages nothing needs any more.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class InboundMessage(Base):
    """One envelope recipient of a received message, waiting for (or done with) processing."""

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_work", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"),
                                            index=True)
    envelope_sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    # The destination as resolved at RCPT time (post, request, owner, bounces, …).
    destination: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    peer: Mapped[str] = mapped_column(String(128), default="")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[InboundState] = mapped_column(str_enum(InboundState),
                                                default=InboundState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[dt.datetime | None]


class HeldMessage(Base):
    """A post waiting for a moderator; its token is the secret a moderator's answer carries."""

    __tablename__ = "held_messages"
    __table_args__ = (Index("ix_held_messages_list_state", "list_id", "state"),
                      Index("ix_held_messages_expiry", "state", "expires_at"),
                      # Retention asks, per raw message, whether a held post still needs it.
                      Index("ix_held_messages_message_id", "message_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998), default="")
    reason: Mapped[str] = mapped_column(Text)
    # The stable name of the posting rule that held it (emergency, size, nonmember, …).
    rule: Mapped[str] = mapped_column(String(32), default="")
    token: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[HeldState] = mapped_column(str_enum(HeldState), default=HeldState.HELD)
    held_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decision_reason: Mapped[str | None] = mapped_column(Text)


class OutboundMessage(Base):
    """A message to send: a post rendered once for a list, or a mail listd writes itself."""

    __tablename__ = "outbound_messages"
    # Never reused after retention: a delivery summary is keyed by this id.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"),
                                                index=True)
    # The post it was rendered from (None for listd's own mail).
    source_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    raw: Mapped[bytes]
    # True: each recipient gets its own VERP envelope sender derived from its queue entry.
    verp: Mapped[bool] = mapped_column(Boolean, default=False)
    envelope_sender: Mapped[str] = mapped_column(String(320))
    # Recipients still to be queued: a fan-out being expanded resumes from here after a crash.
    expanded: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # The highest member id already queued: expansion continues after it, batch by batch.
    expanded_through: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When the owners were warned that this post bounced for too many members (once).
    bounce_warned_at: Mapped[dt.datetime | None]
    # Queue entries of this message with at least one bounce recorded, counted as each first
    # one is recorded, so the warn rate costs the same for a post of ten or of a million
    # (bounce/warn_rate.py); and its queue entries, counted once it is fully expanded.
    bounced_recipients: Mapped[int] = mapped_column(Integer, default=0)
    recipient_total: Mapped[int | None]
    # A post's authentication results when it arrived (DKIM, SPF, DMARC, ARC), as ARC sealing
    # records them; None for listd's own mail and when they were not computed.
    arrival_auth: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The delivery mode of the members a list message is expanded to: a digest goes to the
    # members of its form; None (a post) to those who get each post.
    audience: Mapped[DeliveryMode | None] = mapped_column(str_enum(DeliveryMode), nullable=True)
    # The `listd post send` that made it (its test, sample or exclusions), if one did.
    send_id: Mapped[int | None] = mapped_column(
        ForeignKey("post_sends.id", ondelete="SET NULL"), index=True)


class OutboundEntry(Base):
    """One recipient of one outbound message: the unit the delivery workers claim and send."""

    __tablename__ = "outbound_queue"
    __table_args__ = (
        UniqueConstraint("outbound_id", "recipient"),
        Index("ix_outbound_queue_work", "state", "next_attempt_at"),
        # Heartbeat takeover and lease renewal find one process's claims.
        Index("ix_outbound_queue_claimed_by", "claimed_by"),
        # The per-minute/hour/day sending quotas count recent sends through this index.
        Index("ix_outbound_queue_sent_at", "sent_at"),
        # A VERP token names an entry id (distribute/verp.py): an id must never be given
        # again, or an old token would name another member's copy. SQLite reuses the highest
        # rowids after a purge unless told not to; PostgreSQL sequences never do.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"),
                                                  index=True)
    state: Mapped[OutboundState] = mapped_column(str_enum(OutboundState),
                                                 default=OutboundState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime | None]
    last_response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    # Set while the row waits for its domain's hourly quota (distribute/domain_quota.py): it
    # then holds a reservation for the minute of next_attempt_at. NULL for every other row, so
    # it costs nothing when no domain quota is configured (no index: only `queue status` reads
    # it without an id).
    paced_domain: Mapped[str | None] = mapped_column(String(255))


class DomainQuotaUse(Base):
    """Recipients of one domain reserved for one minute: what `outbound.domain_quotas` counts.

    A row is counted when it is claimed (or booked for a later minute), in the claim's
    transaction, so every process sees it at once; buckets older than an hour are deleted.
    """

    __tablename__ = "domain_quota_use"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    minute: Mapped[dt.datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class DeliverySummary(Base):
    """What became of an outbound message's recipients whose queue rows were purged.

    Retention deletes finished queue rows (and then the message itself); their counts are added
    here first, in the same transaction, so a post's report stays whole: the report is this
    row plus whatever rows are still in the queue. No foreign key to outbound_messages, since
    the summary outlives it.
    """

    __tablename__ = "delivery_summaries"

    outbound_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"),
                                                index=True)
    source_message_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    # When the outbound message was queued.
    created_at: Mapped[dt.datetime]
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    # Recipients that were deferred at least once before their outcome.
    deferred: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # The post's Subject, for the report once the message itself is gone.
    subject: Mapped[str] = mapped_column(String(998), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PostRecipient(Base):
    """Who a post or digest went to, kept when retention purges its queue rows, so that
    `--exclude-recipients-of` and the post's report (its unsubscribes) still know."""

    __tablename__ = "post_recipients"

    outbound_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    member_id: Mapped[int | None] = mapped_column(Integer)


class PostSendState(enum.StrEnum):
    SCHEDULED = "scheduled"
    # Handed to posting (stored as an inbound post); distribution names it from there.
    SUBMITTED = "submitted"
    CANCELLED = "cancelled"


class PostSend(Base):
    """A post sent with `listd post send`: its message, its time, to whom it goes."""

    __tablename__ = "post_sends"
    __table_args__ = (Index("ix_post_sends_due", "state", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    poster: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998), default="")
    # The composed message; its Date is set when it is submitted.
    raw: Mapped[bytes]
    state: Mapped[PostSendState] = mapped_column(str_enum(PostSendState))
    # None: at once.
    send_at: Mapped[dt.datetime | None]
    # To the owners only, marked as a test, not archived.
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    # A random part of the members: a count, or a percentage; neither: every member.
    sample_count: Mapped[int | None] = mapped_column(Integer)
    sample_percent: Mapped[float | None] = mapped_column(Float)
    # Outbound ids (POST ids) whose recipients this send leaves out.
    exclude: Mapped[list[int]] = mapped_column(JSON, default=list)
    # An A/B pair shares the group (the id of its A send); variant "A" or "B". Alone: own id.
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    variant: Mapped[str | None] = mapped_column(String(1))
    # When the group's sample was drawn (on the group's first send), once.
    selected_at: Mapped[dt.datetime | None]
    # The stored message once submitted, and the outbound message (the POST id) once accepted.
    message_id: Mapped[int | None] = mapped_column(Integer, index=True)
    outbound_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]


class PostSelection(Base):
    """A member drawn into a send group's sample, and the variant it gets: recorded before
    any of it is queued, so the A and B halves never overlap and a resumed expansion
    queues the same members."""

    __tablename__ = "post_selections"
    __table_args__ = (Index("ix_post_selections_variant", "group_id", "variant", "member_id"),)

    group_id: Mapped[int] = mapped_column(ForeignKey("post_sends.id", ondelete="CASCADE"),
                                          primary_key=True)
    member_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    variant: Mapped[str] = mapped_column(String(1))


class ProcessHeartbeat(Base):
    """A running `listd serve`, on any host: its id is what it writes into the rows it claims.

    Each process renews its row every few seconds; the others take back the claims of a
    process whose row went stale (it died, or lost the database), and delete the row.
    """

    __tablename__ = "processes"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BounceEvent(Base):
    __tablename__ = "bounce_events"
    __table_args__ = (Index("ix_bounce_events_member", "member_id", "received_at"),
                      Index("ix_bounce_events_entry", "outbound_entry_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"),
                                                index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    address: Mapped[str] = mapped_column(String(320))
    # Indexed (as report_message_id): purging queue rows and raw messages sets these to NULL.
    outbound_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_queue.id", ondelete="SET NULL"), index=True)
    # The outbound message (POST id) it is about: copied from its queue row when retention
    # purges that row, so the post's report still counts it.
    outbound_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # hard | soft | complaint, as classified.
    kind: Mapped[str] = mapped_column(String(16))
    # What it did: scored, recorded (not scored, and why), suspended, unsubscribed, …
    effect: Mapped[str] = mapped_column(String(64), default="recorded")
    status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    # relay (answered during delivery) or report (a DSN mailed back).
    source: Mapped[str] = mapped_column(String(16))
    report_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class AuditEntry(Base):
    """Who changed what, when: every decision and every membership change."""

    __tablename__ = "audit_log"
    # The robot's per-address hourly limit counts one address's recent mails through this,
    # whatever else the log holds (commands/ratelimit.py).
    __table_args__ = (Index("ix_audit_log_subject", "subject", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"),
                                                index=True)
    subject: Mapped[str | None] = mapped_column(String(320))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SiteSetting(Base):
    """Site-wide values that every listd process must share, such as the generated secret."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DkimKey(Base):
    """A DKIM signing key of a served domain, shared by every listd process through the DB.

    The newest active key of a domain signs; older ones stay for the record (and so a rotation
    can publish a new selector while the old key still signs, then deactivate it).
    """

    __tablename__ = "dkim_keys"
    __table_args__ = (UniqueConstraint("domain", "selector"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    selector: Mapped[str] = mapped_column(String(63))
    # rsa | ed25519
    algorithm: Mapped[str] = mapped_column(String(16))
    # PKCS#8 PEM, unencrypted: the database is the key store (restrict access to it).
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiKey(Base):
    """A key for the REST API: only its hash is kept; no list names means site-wide."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the key: the key is 256 random bits, so a slow hash would add nothing.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # List addresses this key may act on; empty: every list (a listmaster's key).
    lists: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class IdempotentRequest(Base):
    """The answer given to a request with an Idempotency-Key, so a retry gets it again."""

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("key_name", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_name: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # What the request asked, so the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class Webhook(Base):
    """An HTTP endpoint that receives listd's events, signed with its own secret."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    # List addresses and event names it wants; empty: all of them.
    lists: Mapped[list[str]] = mapped_column(JSON, default=list)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Base):
    """One event for one webhook: a durable queue row, retried with back-off like mail."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"),
                                            index=True)
    event: Mapped[str] = mapped_column(String(32))
    # The JSON body as sent: serialised once, so every retry carries the same signed bytes.
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[WebhookState] = mapped_column(str_enum(WebhookState),
                                                default=WebhookState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[dt.datetime | None]
    last_response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None]


class PostDeliveredEvent(Base):
    """A post whose fan-out has ended and whose `post.delivered` event was emitted."""

    __tablename__ = "post_delivered_events"

    outbound_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """One numbered digest of a list, built once; its posts are the DigestPost rows naming it."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("list_id", "volume", "issue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    volume: Mapped[int] = mapped_column(Integer)
    issue: Mapped[int] = mapped_column(Integer)
    posts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DigestPost(Base):
    """A distributed post waiting for (digest_id None) or taken into exactly one digest."""

    __tablename__ = "digest_posts"
    __table_args__ = (Index("ix_digest_posts_pending", "digest_id", "list_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    # The post as its author sent it (before DMARC From-munging): digest readers see who wrote.
    raw: Mapped[bytes]
    size: Mapped[int] = mapped_column(Integer)
    # Its number in the list's archive, for the summary's links; None when not archived.
    archive_number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ArchivedMessage(Base):
    """A post in a list's archive, numbered per list, with its threading and its text."""

    __tablename__ = "archived_messages"
    __table_args__ = (
        UniqueConstraint("list_id", "number"),
        # Import is idempotent on Message-ID.
        UniqueConstraint("list_id", "message_id"),
        Index("ix_archived_messages_date", "list_id", "date"),
        Index("ix_archived_messages_thread", "list_id", "thread_number", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(998))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str] = mapped_column(Text, default="")
    # The number of the first message of its thread (its own when it starts one).
    thread_number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(998), default="")
    author_name: Mapped[str] = mapped_column(String(255), default="")
    author_address: Mapped[str] = mapped_column(String(320), default="")
    date: Mapped[dt.datetime]
    # The text shown and searched: text parts, HTML converted to text.
    body_text: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes]
    size: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SuppressionReason(enum.StrEnum):
    COMPLAINT = "complaint"
    # Removed from a list after its bounces passed the threshold and the warnings ran out.
    BOUNCES = "bounces"
    FORGOTTEN = "forgotten"
    # Put there by a listmaster (`listd suppression add`), for a reason given in `note`.
    LISTMASTER = "listmaster"


class Suppression(Base):
    """A site-wide address no list may add again without the person's new consent."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    reason: Mapped[SuppressionReason] = mapped_column(str_enum(SuppressionReason))
    note: Mapped[str] = mapped_column(Text, default="")
    # The list it happened on, when it happened on one.
    list_address: Mapped[str | None] = mapped_column(String(320))
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser: the cookie carries a random token, the row only its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class RateEvent(Base):
    """One counted attempt (a sign-in, a subscription) in a rate-limit bucket, by client or
    by address; shared by every listd process through the database."""

    __tablename__ = "rate_events"
    __table_args__ = (Index("ix_rate_events_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bucket: Mapped[str] = mapped_column(String(400))
    at: Mapped[dt.datetime] = mapped_column(index=True)


class WebPassword(Base):
    """A password an address chose from /my, after signing in by mail (scrypt hash only)."""

    __tablename__ = "web_passwords"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    hash: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LinkClick(Base):
    """Clicks on one tracked link of one post (list setting `tracking`), counted as they come.

    No foreign key to outbound_messages: the counts outlive the queue, as delivery_summaries
    do (outbound ids are never reused). No address and no member: who clicked is kept only
    with `tracking: per_member`, in member_link_clicks.
    """

    __tablename__ = "link_clicks"
    __table_args__ = (UniqueConstraint("outbound_id", "link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(Integer)
    # The link's number in the post (tracking/links.py), and where it leads.
    link: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MemberLinkClick(Base):
    """One member's click on a tracked link (`tracking: per_member` only). Deleted with the
    member: leaving a list takes one's click history along."""

    __tablename__ = "member_link_clicks"
    __table_args__ = (Index("ix_member_link_clicks_outbound", "outbound_id", "link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(Integer)
    link: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                           index=True)
    clicked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
