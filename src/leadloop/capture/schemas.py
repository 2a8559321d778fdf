"""API shapes (Pydantic): what a client sends and gets back. Structure only; the meaning of each
value (is this e-mail valid? is this a known type?) is checked by capture.model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Short = Annotated[str, Field(max_length=300)]
Id = Annotated[str, Field(max_length=200)]


class PersonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Id | None = None
    account_external_id: Id | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    title: Short | None = None
    seniority: Short | None = None
    department: Short | None = None
    phone: Annotated[str, Field(max_length=100)] | None = None
    company: Short | None = None
    website: Annotated[str, Field(max_length=2048)] | None = None
    street: Short | None = None
    country: Short | None = None
    state: Short | None = None
    city: Short | None = None
    postcode: Annotated[str, Field(max_length=20)] | None = None
    lead_source: Short | None = None
    campaign: Short | None = None
    created_at: datetime | None = None
    email_opt_in: bool | None = None
    attributes: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=65_536)]] = Field(
        default_factory=dict,
        max_length=1_000,
        description="Custom fields outside the contract; kept on the person. The server's limits "
        "(LEADLOOP_MAX_CUSTOM_FIELDS, LEADLOOP_MAX_CUSTOM_CHARS; 20 of up to 1,000 characters by "
        "default) are checked with the record's other fields.",
    )


class LeadCreate(PersonFields):
    """One lead from a machine client: the person, and the activity that brought them."""

    activity_type: Annotated[str, Field(max_length=50)] = "record_created"
    occurred_at: datetime | None = None
    product: Annotated[str, Field(max_length=100)] | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None
    message: Annotated[str, Field(max_length=65_536)] | None = None
    visitor_id: Id | None = None
    utm_source: Short | None = None
    utm_medium: Short | None = None
    utm_campaign: Short | None = None
    utm_term: Short | None = None
    utm_content: Short | None = None


class ActivityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(max_length=50)]
    occurred_at: datetime | None = None
    external_id: Id | None = None
    person_external_id: Id | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    account_external_id: Id | None = None
    visitor_id: Id | None = None
    channel: Annotated[str, Field(max_length=50)] | None = None
    direction: Annotated[str, Field(max_length=10)] | None = None
    campaign: Short | None = None
    product: Annotated[str, Field(max_length=100)] | None = None
    value: float | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None
    payload: dict[str, Any] = Field(default_factory=dict, max_length=100)


class IngestBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[PersonFields] = Field(default_factory=list, max_length=5000)
    activities: list[ActivityCreate] = Field(default_factory=list, max_length=5000)


class LeadCaptured(BaseModel):
    person_id: int
    account_id: int | None
    activity_id: int | None
    status: str
    lead_ids: list[int] = Field(default_factory=list)


class Rejected(BaseModel):
    index: int
    errors: list[dict[str, Any]]


class BatchPart(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: list[int | None] = Field(default_factory=list)
    rejected: list[Rejected] = Field(default_factory=list)


class IngestResult(BaseModel):
    people: BatchPart
    activities: BatchPart
