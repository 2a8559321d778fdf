"""The API's bodies for an edit: only the editable fields, each bounded; an unknown field is a 422.
The values are then cleaned by `edits.model` with the normalisers capture uses."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_VERSION = Field(
    description="the record's updated_at as you read it; if someone changed it since, nothing is saved (409)"
)


class PersonUpdate(BaseModel):
    """Send only the fields to change; null or "" clears one."""

    model_config = ConfigDict(extra="forbid")
    updated_at: AwareDatetime = _VERSION
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=300)
    seniority: str | None = Field(None, max_length=50)
    department: str | None = Field(None, max_length=100)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=300)
    website: str | None = Field(None, max_length=2048)
    street: str | None = Field(None, max_length=300)
    country: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=200)
    postcode: str | None = Field(None, max_length=20)

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"updated_at"})


class AccountUpdate(BaseModel):
    """Send only the fields to change; null or "" clears one (the name cannot be cleared)."""

    model_config = ConfigDict(extra="forbid")
    updated_at: AwareDatetime = _VERSION
    name: str | None = Field(None, max_length=300)
    domain: str | None = Field(None, max_length=2048)
    industry: str | None = Field(None, max_length=200)
    employees: int | Annotated[str, Field(max_length=30)] | None = None
    annual_revenue: float | Annotated[str, Field(max_length=40)] | None = None
    country: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    city: str | None = Field(None, max_length=200)
    postcode: str | None = Field(None, max_length=20)
    sic_code: str | None = Field(None, max_length=10)
    naics_code: str | None = Field(None, max_length=10)
    sites: int | Annotated[str, Field(max_length=30)] | None = None

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"updated_at"})
