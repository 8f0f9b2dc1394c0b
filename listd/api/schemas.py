"""The API's request and response bodies, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from listd.models import DeliveryMode, ListStatus, Role

SettingValue = str | int | bool | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomainOut(BaseModel):
    domain: str
    lists: int


class DomainIn(Strict):
    name: str = Field(max_length=253)


class ListOut(BaseModel):
    address: str
    status: ListStatus
    template: str
    subject: str
    description: str
    language: str
    owners: list[str]
    subscribers: int
    moderators: int
    requested_by: str | None
    created_at: str
    settings: dict[str, SettingValue]


class ListRequest(Strict):
    address: str = Field(max_length=320, description="LIST@DOMAIN")
    owners: list[str] = Field(min_length=1, max_length=50)
    template: str = Field(default="discussion", max_length=64)
    subject: str = Field(default="", max_length=255)


class Refusal(Strict):
    reason: str | None = Field(default=None, max_length=2000)


class MemberOut(BaseModel):
    address: str
    name: str
    role: Role
    delivery: DeliveryMode
    status: str
    bounce_score: float
    subscribed_at: str


class MemberPageOut(BaseModel):
    members: list[MemberOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class MemberIn(Strict):
    address: str = Field(max_length=320)
    name: str = Field(default="", max_length=255)
    role: Role = Role.SUBSCRIBER
    confirm: bool = Field(default=False, description=(
        "true: mail the address a confirmation request and add it only when it answers "
        "(double opt-in); false: the key's owner vouches for the address"))
    force: bool = Field(default=False, description=(
        "true: add (or ask) an address on the suppression list too, because the person gave "
        "new consent; its suppression is lifted"))


class MemberAdded(BaseModel):
    address: str
    outcome: Literal["added", "confirmation-sent"]
    member: MemberOut | None = None


class MemberChange(Strict):
    delivery: DeliveryMode | None = None
    role: Role | None = None


class RefusedLine(BaseModel):
    line: int
    text: str
    reason: str


class ImportReportOut(BaseModel):
    added: int
    already_members: int
    refused: list[RefusedLine]


class HeldOut(BaseModel):
    id: int
    list: str
    sender: str
    subject: str
    rule: str
    reason: str
    held_at: str
    expires_at: str


class HeldDetail(HeldOut):
    text: str = Field(description="The post as text: headers and plain body, never HTML.")
    attachments: list[str]


class Decision(Strict):
    action: Literal["approve", "reject", "discard"]
    reason: str | None = Field(default=None, max_length=2000)


class DecisionOut(BaseModel):
    id: int
    state: str


class BouncingMember(BaseModel):
    address: str
    score: float
    status: str
    last_bounce: str | None
    reason: str | None
    last_status: str | None
    effect: str | None
    warnings: int
    suspended_at: str | None


class BounceEventOut(BaseModel):
    address: str
    kind: str
    effect: str
    status: str | None
    reason: str | None
    diagnostic: str | None
    source: str
    received_at: str


class PostIn(Strict):
    from_: str = Field(alias="from", max_length=320, description="One of the list's owners.")
    subject: str = Field(max_length=998)
    text: str = Field(max_length=5_000_000)
    html: str | None = Field(default=None, max_length=5_000_000)


class PostOut(BaseModel):
    id: int
    state: str
    outcome: str | None = None
    held: dict[str, str | int] | None = None
    delivery: dict[str, int] | None = None
    # Tracked links that were clicked (list setting tracking): link, url, clicks, members.
    clicks: list[dict[str, str | int | None]] | None = None


class AuditOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    list: str | None
    subject: str | None
    detail: dict[str, object]


class AuditPageOut(BaseModel):
    entries: list[AuditOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for older entries.")


class PostFiguresOut(BaseModel):
    recipients: int
    delivered: int
    pending: int
    deferred: int
    failed: int
    bounced: int
    bounced_hard: int
    bounced_soft: int
    bounced_policy: int
    complaints: int
    unsubscribed: int
    unsubscribed_one_click: int
    unsubscribed_self: int


class LinkClicksOut(BaseModel):
    """One tracked link of a post: its number in the post, where it leads, its clicks."""

    link: int
    url: str
    clicks: int
    members: int | None = None


class PostReportOut(BaseModel):
    """A post's report (listd/post_report.py): `post` is the id the CLI and pages show."""

    post: str
    list_address: str | None
    kind: str
    state: str
    subject: str
    created_at: str | None
    send_at: str | None
    test: bool
    variant: str | None
    sample: str | None
    excluded_recipients_of: list[str]
    unsubscribe_days: int
    figures: PostFiguresOut
    variants: list[PostReportOut]
    # Tracked links that were clicked (list setting tracking); members: distinct members who
    # clicked, only with tracking per_member.
    clicks: list[LinkClicksOut] = []
