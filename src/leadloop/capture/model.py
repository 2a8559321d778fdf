"""Records as they enter the warehouse, parsed from loose field maps. Pure: no I/O.

Every path (API, web form, CSV import, demo) builds these with the same functions, so a value is
normalised the same way whichever door it came through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from leadloop.capture import normalise as n
from leadloop.capture.vocab import DIRECTIONS, check_activity_type, default_channel
from leadloop.core.errors import InvalidInput, UnknownActivityType

Fields = Mapping[str, Any]

# Clocks of senders drift; a few minutes ahead is not "the future".
_FUTURE_TOLERANCE = timedelta(minutes=10)


class RowErrors(InvalidInput):
    """Several things wrong with one record; the message names each field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class _Collector:
    def __init__(self, fields: Fields, max_chars: int) -> None:
        self.fields = fields
        self.errors: list[str] = []
        self.max_chars = max_chars

    def text(self, name: str, limit: int = 300) -> str | None:
        raw = self.fields.get(name)
        if raw is None:
            return None
        raw = str(raw)
        if len(raw) > self.max_chars:
            self.errors.append(f"{name}: {len(raw):,} characters; the limit is {self.max_chars:,}")
            return None
        value = n.clean_text(raw)
        if value is not None and len(value) > limit:
            self.errors.append(f"{name}: {len(value):,} characters; the limit for this field is {limit:,}")
            return None
        return value

    def parse(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        raw = self.fields.get(name)
        if raw is not None and len(str(raw)) > self.max_chars:
            self.errors.append(f"{name}: {len(str(raw)):,} characters; the limit is {self.max_chars:,}")
            return None
        try:
            return fn(None if raw is None else str(raw), *args, **kwargs)
        except InvalidInput as exc:
            self.errors.append(f"{name}: {_without_subject(str(exc), name)}")
            return None

    def done(self) -> None:
        if self.errors:
            raise RowErrors(self.errors)

    def extra(self, known: tuple[str, ...]) -> dict[str, Any]:
        """Columns outside the contract are kept as custom attributes: no signal is dropped."""
        out: dict[str, Any] = {}
        for key, raw in self.fields.items():
            if key in known or key.startswith("_") or raw is None:
                continue
            value = n.clean_text(raw)
            if value is None:
                continue
            if len(value) > self.max_chars:
                self.errors.append(f"{key}: {len(value):,} characters; the limit is {self.max_chars:,}")
                continue
            out[key] = value
        return out


def _without_subject(message: str, name: str) -> str:
    """'email_opt_out 'nein' is not yes/no' -> "'nein' is not yes/no": the field is named already."""
    for subject in (name, name.replace("_", " "), "e-mail", "phone", "website"):
        if message.startswith(subject + " "):
            return message[len(subject) + 1 :]
    return message


@dataclass(slots=True)
class PersonIn:
    external_id: str | None = None
    account_external_id: str | None = None
    email: str | None = None
    email_domain: str | None = None
    email_kind: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    department: str | None = None
    phone: str | None = None
    company: str | None = None
    website: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    postcode: str | None = None
    lead_source: str | None = None
    campaign: str | None = None
    created_at: datetime | None = None
    email_opt_in: bool | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return self.external_id or self.email or self.phone or ""

    def account_hint(self) -> tuple[str, str] | None:
        """How to find this person's account: by external id, corporate domain, website, or name."""
        if self.account_external_id:
            return ("external_id", self.account_external_id)
        if self.email_kind == "corporate" and self.email_domain:
            return ("domain", self.email_domain)
        if self.website:
            return ("domain", self.website)
        key = n.company_key(self.company)
        # A one-letter "company" is noise, never a match key.
        if key and len(key) > 1:
            return ("name_key", key)
        return None


PERSON_FIELDS = tuple(f for f in PersonIn.__slots__ if f not in ("email_domain", "email_kind"))


def parse_person(fields: Fields, *, max_chars: int = 65_536) -> PersonIn:
    c = _Collector(fields, max_chars)
    email = c.parse("email", n.normalise_email)
    country = c.parse("country", n.normalise_country)
    p = PersonIn(
        external_id=c.text("external_id", 200),
        account_external_id=c.text("account_external_id", 200),
        email=email.address if email else None,
        email_domain=email.domain if email else None,
        email_kind=email.kind if email else None,
        first_name=c.text("first_name", 200),
        last_name=c.text("last_name", 200),
        title=c.text("title"),
        seniority=c.text("seniority", 50),
        department=c.text("department", 100),
        company=c.text("company"),
        country=country,
        state=c.text("state", 100),
        city=c.text("city", 200),
        postcode=c.text("postcode", 20),
        lead_source=c.text("lead_source", 100),
        campaign=c.text("campaign"),
        created_at=c.parse("created_at", n.parse_datetime, field="created_at"),
        email_opt_in=c.parse("email_opt_in", n.parse_bool, field="email_opt_in"),
    )
    opt_out = c.parse("email_opt_out", n.parse_bool, field="email_opt_out")
    if opt_out is not None and p.email_opt_in is None:
        p.email_opt_in = not opt_out
    p.attributes = c.extra((*PERSON_FIELDS, "email_opt_out"))
    # A bad phone or website does not lose the person: the raw value is kept beside the record.
    raw_phone = c.text("phone", 100)
    if raw_phone:
        try:
            p.phone = n.normalise_phone(raw_phone, country)
        except InvalidInput as exc:
            p.attributes["phone_raw"] = raw_phone
            p.attributes.setdefault("_warnings", []).append(str(exc))
    raw_site = c.text("website", 2048)
    if raw_site:
        try:
            p.website = n.registrable_domain(raw_site)
        except InvalidInput as exc:
            p.attributes["website_raw"] = raw_site
            p.attributes.setdefault("_warnings", []).append(str(exc))
    if not c.errors and not (p.external_id or p.email or p.phone):
        c.errors.append("a person needs an email, a phone or an external_id")
    c.done()
    return p


@dataclass(slots=True)
class AccountIn:
    external_id: str | None = None
    name: str | None = None
    name_key: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: Decimal | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    postcode: str | None = None
    sic_code: str | None = None
    naics_code: str | None = None
    sites: int | None = None
    parent_external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


ACCOUNT_FIELDS = tuple(f for f in AccountIn.__slots__ if f != "name_key")


def parse_account(fields: Fields, *, max_chars: int = 65_536) -> AccountIn:
    c = _Collector(fields, max_chars)
    a = AccountIn(
        external_id=c.text("external_id", 200),
        name=c.text("name"),
        domain=c.parse("domain", n.registrable_domain),
        industry=c.text("industry", 200),
        employees=c.parse("employees", n.parse_int, field="employees"),
        annual_revenue=c.parse("annual_revenue", n.parse_decimal, field="annual_revenue"),
        country=c.parse("country", n.normalise_country),
        state=c.text("state", 100),
        city=c.text("city", 200),
        postcode=c.text("postcode", 20),
        sic_code=c.text("sic_code", 10),
        naics_code=c.text("naics_code", 10),
        sites=c.parse("sites", n.parse_int, field="sites"),
        parent_external_id=c.text("parent_external_id", 200),
    )
    a.attributes = c.extra(ACCOUNT_FIELDS)
    if a.name is None and a.domain:
        a.name = a.domain
    a.name_key = n.company_key(a.name)
    if not c.errors and not (a.external_id or a.domain or a.name_key):
        c.errors.append("an account needs a name, a domain or an external_id")
    c.done()
    return a


@dataclass(slots=True)
class ActivityIn:
    type: str
    occurred_at: datetime
    external_id: str | None = None
    person_external_id: str | None = None
    email: str | None = None
    account_external_id: str | None = None
    visitor_id: str | None = None
    channel: str | None = None
    direction: str | None = None
    campaign: str | None = None
    product: str | None = None
    value: Decimal | None = None
    url: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None

    def fingerprint(self) -> str:
        """The content of the activity, for a retry-safe key when no external_id is given."""
        parts = (
            self.type,
            self.occurred_at.isoformat(),
            self.person_external_id,
            self.email,
            self.account_external_id,
            self.visitor_id,
            self.channel,
            self.direction,
            self.campaign,
            self.product,
            str(self.value),
            self.url,
            repr(sorted(self.payload.items())),
        )
        return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]


ACTIVITY_FIELDS = (
    "external_id",
    "person_external_id",
    "email",
    "account_external_id",
    "occurred_at",
    "type",
    "channel",
    "direction",
    "campaign",
    "product",
    "value",
    "url",
    "visitor_id",
)


def parse_activity(
    fields: Fields, *, now: datetime, max_chars: int = 65_536, require_subject: bool = True
) -> ActivityIn:
    """`require_subject=False` when the caller links the person itself (a lead captured with it)."""
    c = _Collector(fields, max_chars)
    kind = None
    raw_type = c.text("type", 50)
    if raw_type is None:
        c.errors.append("type: missing")
    else:
        try:
            kind = check_activity_type(raw_type)
        except UnknownActivityType as exc:
            c.errors.append(f"type: {exc}")
    email = c.parse("email", n.normalise_email)
    occurred = c.parse("occurred_at", n.parse_datetime, field="occurred_at")
    direction = c.text("direction", 10)
    if direction is not None and direction.lower() not in DIRECTIONS:
        c.errors.append(f"direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    a = ActivityIn(
        type=kind or "",
        occurred_at=occurred or now,
        external_id=c.text("external_id", 200),
        person_external_id=c.text("person_external_id", 200),
        email=email.address if email else None,
        account_external_id=c.text("account_external_id", 200),
        visitor_id=c.text("visitor_id", 200),
        channel=(c.text("channel", 50) or (default_channel(kind) if kind else None)),
        direction=direction.lower() if direction else None,
        campaign=c.text("campaign"),
        product=(p.lower() if (p := c.text("product", 100)) else None),
        value=c.parse("value", n.parse_decimal, field="value"),
        url=c.text("url", 2048),
    )
    a.payload = c.extra(ACTIVITY_FIELDS)
    if occurred is not None and occurred > now.replace(microsecond=0) + _FUTURE_TOLERANCE:
        c.errors.append(f"occurred_at: {occurred.isoformat()} is in the future")
    if require_subject and not (a.person_external_id or a.email or a.account_external_id or a.visitor_id):
        c.errors.append(
            "an activity needs an email, a person_external_id, an account_external_id or a visitor_id"
        )
    c.done()
    return a


@dataclass(slots=True)
class OpportunityIn:
    external_id: str
    outcome: str
    created_at: datetime
    account_external_id: str | None = None
    person_external_id: str | None = None
    product: str | None = None
    closed_at: datetime | None = None
    stage: str | None = None
    amount: Decimal | None = None
    lost_reason: str | None = None


OUTCOMES = ("won", "lost", "open")
_OUTCOME_ALIASES = {"closed won": "won", "closed lost": "lost", "closedwon": "won", "closedlost": "lost"}


def parse_opportunity(fields: Fields, *, now: datetime, max_chars: int = 65_536) -> OpportunityIn:
    c = _Collector(fields, max_chars)
    ext = c.text("external_id", 200)
    stage = c.text("stage", 50)
    outcome_raw = (c.text("outcome", 10) or "").lower()
    if not outcome_raw and stage:
        outcome_raw = _OUTCOME_ALIASES.get(stage.lower(), "open")
    outcome = _OUTCOME_ALIASES.get(outcome_raw, outcome_raw or "open")
    if outcome not in OUTCOMES:
        c.errors.append(f"outcome: {outcome_raw!r} is not one of won, lost, open")
    amount = c.parse("amount", n.parse_decimal, field="amount")
    if amount is not None and amount < 0:
        c.errors.append(f"amount: {amount} cannot be negative")
    o = OpportunityIn(
        external_id=ext or "",
        outcome=outcome,
        created_at=c.parse("created_at", n.parse_datetime, field="created_at") or now,
        account_external_id=c.text("account_external_id", 200),
        person_external_id=c.text("person_external_id", 200),
        product=(p.lower() if (p := c.text("product", 100)) else None),
        closed_at=c.parse("closed_at", n.parse_datetime, field="closed_at"),
        stage=stage,
        amount=amount,
        lost_reason=c.text("lost_reason"),
    )
    if not ext:
        c.errors.append("external_id: missing (an opportunity needs one so that re-imports update it)")
    if not (o.account_external_id or o.person_external_id):
        c.errors.append("an opportunity needs an account_external_id or a person_external_id")
    c.done()
    return o


@dataclass(slots=True)
class CampaignIn:
    name: str
    external_id: str | None = None
    channel: str | None = None
    cost: Decimal | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


def parse_campaign(fields: Fields, *, max_chars: int = 65_536) -> CampaignIn:
    c = _Collector(fields, max_chars)
    ext = c.text("external_id", 200)
    k = CampaignIn(
        name=c.text("name") or ext or "",
        external_id=ext,
        channel=c.text("channel", 50),
        cost=c.parse("cost", n.parse_decimal, field="cost"),
        started_at=c.parse("started_at", n.parse_datetime, field="started_at"),
        ended_at=c.parse("ended_at", n.parse_datetime, field="ended_at"),
        utm_source=c.text("utm_source", 200),
        utm_medium=c.text("utm_medium", 200),
        utm_campaign=c.text("utm_campaign", 200),
    )
    if not k.name:
        c.errors.append("a campaign needs a name or an external_id")
    if k.cost is not None and k.cost < 0:
        c.errors.append("cost: cannot be negative")
    if k.started_at and k.ended_at and k.ended_at < k.started_at:
        c.errors.append("ended_at: before started_at")
    c.done()
    return k
