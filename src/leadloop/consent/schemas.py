"""The consent API's shapes (read and write), every input bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class SubscriptionTypeRead(BaseModel):
    code: str
    label: str


class DecisionRead(BaseModel):
    allowed: bool
    reason: str = Field(description="a code: consent, unsubscribed, suppressed_domain, erased, ...")
    words: str


class TypeRead(BaseModel):
    code: str
    label: str
    status: str | None = Field(
        description="granted | pending | withdrawn | expired | cleared; null: nothing known"
    )
    basis: str | None
    since: datetime | None
    expires_at: datetime | None
    may_send: DecisionRead


class HistoryRead(BaseModel):
    at: datetime
    scope: str
    status: str
    basis: str | None
    source: str
    detail: str | None
    expires_at: datetime | None
    by: str | None


class ConsentRead(BaseModel):
    person_id: int
    email_opt_in: bool | None
    erased: bool
    suppressed: str | None
    types: list[TypeRead]
    history: list[HistoryRead]


class ConsentChange(BaseModel):
    """Staff recording what the person told them. Withdrawing: writers; granting: admins."""

    scope: str = Field(min_length=1, max_length=40, description="a subscription type's code, or * for all")
    action: Literal["grant", "withdraw"]
    basis: Literal["consent", "legitimate_interest"] = "consent"
    note: str | None = Field(default=None, max_length=300)


class HeadersRead(BaseModel):
    headers: dict[str, str]
    preferences_url: str


class SuppressionCreate(BaseModel):
    value: str = Field(min_length=1, max_length=320, description="an e-mail address, or a domain (acme.com)")
    reason: str | None = Field(default=None, max_length=300)


class SuppressionRead(BaseModel):
    id: int
    kind: Literal["address", "domain"]
    value: str
    reason: str | None
    source: str
    created_at: datetime
