"""Records as they enter the warehouse, parsed from loose field maps. Pure: no I/O.

Every path (API, web form, CSV import, demo) builds these with the same functions, so a value is
normalised the same way whichever door it came through.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadloop.contract import normalise as n
from leadloop.contract.custom import CustomLimits
from leadloop.contract.titles import parse_title
from leadloop.contract.vocab import (
    CARRIED_FIELDS,
    DIRECTIONS,
    ENTITY_FIELDS,
    check_activity_type,
    default_channel,
)
from leadloop.core.bounds import unstorable_char
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
    def __init__(self, fields: Fields, max_chars: int, custom: CustomLimits | None = None) -> None:
        self.fields = fields
        self.errors: list[str] = []
        self.max_chars = max_chars
        self.custom = custom  # None: an activity's payload, bounded by the API schema instead
        # Text no database can store (NUL, a lone surrogate) is refused whichever door it came
        # through, the field named; the web refuses it earlier still (core.bounds).
        for key, raw in fields.items():
            if isinstance(raw, str) and (char := unstorable_char(raw)) is not None:
                self.errors.append(f"{key}: contains {_char_name(char)}, which cannot be stored")
            if (char := unstorable_char(str(key))) is not None:
                self.errors.append(f"a field name contains {_char_name(char)}, which cannot be stored")

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

    def soft(self, name: str, fn: Any, warnings: list[str], kept: dict[str, Any], **kwargs: Any) -> Any:
        """Parse a value that must not cost the record its place: a value that cannot be read is
        kept as typed (`<name>_raw`) with a warning, and the record lands."""
        raw = self.text(name, 300)
        if raw is None:
            return None
        try:
            return fn(raw, **kwargs)
        except InvalidInput as exc:
            kept[f"{name}_raw"] = raw
            warnings.append(f"{name}: {_without_subject(str(exc), name)}; kept as typed in {name}_raw")
            return None

    def done(self) -> None:
        if self.errors:
            raise RowErrors(self.errors)

    def extra(self, known: tuple[str, ...]) -> dict[str, Any]:
        """Columns outside the contract are kept as custom attributes, up to the custom limits: a
        record over them is refused whole, never silently trimmed."""
        out: dict[str, Any] = {}
        limit = min(self.max_chars, self.custom.chars) if self.custom else self.max_chars
        for key, raw in self.fields.items():
            if key in known or key.startswith("_") or raw is None:
                continue
            value = n.clean_text(raw)
            if value is None:
                continue
            if len(key) > 100:
                self.errors.append(
                    f"custom field name {key[:40]!r}...: {len(key):,} characters; the limit is 100"
                )
                continue
            if len(value) > limit:
                self.errors.append(
                    f"{key}: {len(value):,} characters; the limit for a custom field is {limit:,}"
                )
                continue
            out[key] = value
        if self.custom and len(out) > self.custom.count:
            self.errors.append(
                f"{len(out):,} custom fields (outside the contract); the limit is {self.custom.count:,}"
            )
        return out


def _char_name(char: str) -> str:
    return "a NUL byte" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"


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
    street: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    postcode: str | None = None
    lead_source: str | None = None
    campaign: str | None = None
    created_at: datetime | None = None
    email_opt_in: bool | None = None
    # Carried over, not the person's own (contract.vocab.CARRIED_FIELDS): a peer CRM's owner and
    # stages for the lead of the person's account, and that account's firmographics.
    owner: str | None = None
    lifecycle_stage: str | None = None
    lead_status: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: Decimal | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def carries(self) -> bool:
        return any(getattr(self, f) is not None for f in CARRIED_FIELDS["people"])

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


PERSON_FIELDS = tuple(
    f for f in PersonIn.__slots__ if f not in ("email_domain", "email_kind", *CARRIED_FIELDS["people"])
)


def parse_person(fields: Fields, *, max_chars: int = 65_536, custom: CustomLimits | None = None) -> PersonIn:
    c = _Collector(fields, max_chars, custom or CustomLimits())
    warnings: list[str] = []
    kept: dict[str, Any] = {}
    email = c.parse("email", n.normalise_email)
    # A country we cannot read never loses the person: the raw value is kept, as for a phone.
    country = c.soft("country", n.normalise_country, warnings, kept)
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
        street=c.text("street", 300),
        country=country,
        state=c.text("state", 100),
        city=c.text("city", 200),
        postcode=c.text("postcode", 20),
        lead_source=c.text("lead_source", 100),
        campaign=c.text("campaign"),
        created_at=c.parse("created_at", n.parse_datetime, field="created_at"),
        email_opt_in=c.parse("email_opt_in", n.parse_bool, field="email_opt_in"),
        owner=c.text("owner", 320),
        lifecycle_stage=c.text("lifecycle_stage", 100),
        lead_status=c.text("lead_status", 100),
        industry=c.text("industry", 200),
        employees=c.soft("employees", n.parse_int, warnings, kept, field="employees"),
        annual_revenue=c.soft("annual_revenue", n.parse_decimal, warnings, kept, field="annual_revenue"),
    )
    opt_out = c.parse("email_opt_out", n.parse_bool, field="email_opt_out")
    if opt_out is not None and p.email_opt_in is None:
        p.email_opt_in = not opt_out
    p.attributes = c.extra((*PERSON_FIELDS, *CARRIED_FIELDS["people"], "email_opt_out")) | kept
    if warnings:
        p.attributes["_warnings"] = warnings
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


def parse_account(
    fields: Fields, *, max_chars: int = 65_536, custom: CustomLimits | None = None
) -> AccountIn:
    c = _Collector(fields, max_chars, custom or CustomLimits())
    warnings: list[str] = []
    kept: dict[str, Any] = {}
    a = AccountIn(
        external_id=c.text("external_id", 200),
        name=c.text("name"),
        domain=c.parse("domain", n.registrable_domain),
        industry=c.text("industry", 200),
        employees=c.parse("employees", n.parse_int, field="employees"),
        annual_revenue=c.parse("annual_revenue", n.parse_decimal, field="annual_revenue"),
        country=c.soft("country", n.normalise_country, warnings, kept),
        state=c.text("state", 100),
        city=c.text("city", 200),
        postcode=c.text("postcode", 20),
        sic_code=c.text("sic_code", 10),
        naics_code=c.text("naics_code", 10),
        sites=c.parse("sites", n.parse_int, field="sites"),
        parent_external_id=c.text("parent_external_id", 200),
    )
    a.attributes = c.extra(ACCOUNT_FIELDS) | kept
    if warnings:
        a.attributes["_warnings"] = warnings
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
    warnings: list[str] = field(default_factory=list)  # for the import's report, never stored

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
    fields: Fields,
    *,
    now: datetime,
    max_chars: int = 65_536,
    require_subject: bool = True,
    missing_time: datetime | None = None,
) -> ActivityIn:
    """`require_subject=False` when the caller links the person itself (a lead captured with it).
    `missing_time`: what a row without a time takes, with a warning (an import's start); without
    it, such a row happened now (the API: a signal arriving as it happens)."""
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
        occurred_at=occurred or missing_time or now,
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
    if occurred is None and missing_time is not None and not c.errors:
        a.warnings.append(
            f"occurred_at: no time given; the import's time ({missing_time:%Y-%m-%d %H:%M} UTC) was used"
        )
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
    account_id: int | None = None  # set by Leadloop itself (a partner's deal), never by a file
    name: str | None = None
    currency: str | None = None
    expected_close_on: date | None = None  # an open deal's close date
    # More contacts on the deal (HubSpot's "Associated Contact IDs"): contact roles without a role.
    contacts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


OUTCOMES = ("won", "lost", "open")
_OUTCOME_ALIASES = {"closed won": "won", "closed lost": "lost", "closedwon": "won", "closedlost": "lost"}


def _ids(raw: str | None) -> list[str]:
    """'123;456' -> ['123', '456']: HubSpot exports a deal's associated records in one cell."""
    return [p.strip() for p in (raw or "").replace(",", ";").split(";") if p.strip()]


def _outcome(c: _Collector, stage: str | None) -> tuple[str, str]:
    """The outcome, as the file says it: an outcome column; else Salesforce's IsClosed and IsWon;
    else the stage's name (Closed Won, HubSpot's closedwon); else open."""
    raw = (c.text("outcome", 10) or "").lower()
    if not raw:
        closed = c.parse("is_closed", n.parse_bool, field="is_closed")
        won = c.parse("is_won", n.parse_bool, field="is_won")
        if closed is not None or won is not None:
            raw = "won" if won else ("lost" if closed else "open")
    if not raw and stage:
        raw = _OUTCOME_ALIASES.get(stage.lower(), "open")
    return raw, _OUTCOME_ALIASES.get(raw, raw or "open")


def parse_opportunity(fields: Fields, *, now: datetime, max_chars: int = 65_536) -> OpportunityIn:
    c = _Collector(fields, max_chars)
    ext = c.text("external_id", 200)
    stage = c.text("stage", 50)
    outcome_raw, outcome = _outcome(c, stage)
    if outcome not in OUTCOMES:
        c.errors.append(f"outcome: {outcome_raw!r} is not one of won, lost, open")
    amount = c.parse("amount", n.parse_decimal, field="amount")
    if amount is not None and amount < 0:
        c.errors.append(f"amount: {amount} cannot be negative")
    currency = (c.text("currency", 10) or "").upper() or None
    if currency is not None and not (len(currency) == 3 and currency.isalpha() and currency.isascii()):
        c.errors.append(f"currency: {currency!r} is not an ISO 4217 code such as EUR or USD")
    accounts = _ids(c.text("account_external_id", 2000))
    people = _ids(c.text("person_external_id", 20_000))
    close = c.parse("closed_at", n.parse_datetime, field="closed_at")
    o = OpportunityIn(
        external_id=ext or "",
        outcome=outcome,
        created_at=c.parse("created_at", n.parse_datetime, field="created_at") or now,
        account_external_id=accounts[0][:200] if accounts else None,
        person_external_id=people[0][:200] if people else None,
        product=(p.lower() if (p := c.text("product", 100)) else None),
        # An open deal's close date is when it is expected to close, not a close.
        closed_at=close if outcome != "open" else None,
        expected_close_on=close.date() if close is not None and outcome == "open" else None,
        stage=stage,
        amount=amount,
        lost_reason=c.text("lost_reason"),
        name=c.text("name"),
        currency=currency,
        contacts=[p[:200] for p in people[1:]],
    )
    if len(accounts) > 1:
        o.warnings.append(
            f"account_external_id: {len(accounts)} accounts; the deal is kept on the first, {accounts[0]}"
        )
    if not ext:
        c.errors.append("external_id: missing (an opportunity needs one so that re-imports update it)")
    if not (o.account_external_id or o.person_external_id):
        c.errors.append("an opportunity needs an account_external_id or a person_external_id")
    c.done()
    return o


@dataclass(slots=True)
class ContactRoleIn:
    """A person's role on an opportunity, as Salesforce's OpportunityContactRole exports it."""

    opportunity_external_id: str
    person_external_id: str
    role: str | None = None
    is_primary: bool = False
    external_id: str | None = None


def parse_contact_role(fields: Fields, *, max_chars: int = 65_536) -> ContactRoleIn:
    c = _Collector(fields, max_chars)
    r = ContactRoleIn(
        opportunity_external_id=c.text("opportunity_external_id", 200) or "",
        person_external_id=c.text("person_external_id", 200) or "",
        role=(role.casefold() if (role := c.text("role", 50)) else None),
        is_primary=bool(c.parse("is_primary", n.parse_bool, field="is_primary")),
        external_id=c.text("external_id", 200),
    )
    if not r.opportunity_external_id:
        c.errors.append("opportunity_external_id: missing (which opportunity is this role on?)")
    if not r.person_external_id:
        c.errors.append("person_external_id: missing (whose role is this?)")
    c.done()
    return r


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


# Folding a batch of people and deciding what changes: pure, so the rules can be tested without a
# database. `capture/people.py` loads what they need and writes what they decide.

# A person's own columns, as the contract names them (links, campaign, dates and consent are
# handled apart).
PERSON_COLUMNS = (
    *(
        f
        for f in ENTITY_FIELDS["people"]
        if f not in ("account_external_id", "campaign", "created_at", "email_opt_in")
    ),
    "email_kind",
)
# A change to one of these may make the person match someone else: they are matched again.
MATCHED_ON = frozenset({"first_name", "last_name", "email", "phone", "postcode", "company", "city"})


def consent(current: bool | None, incoming: bool | None, *, explicit: bool) -> bool | None:
    """An opt-out is never lost to a later import or merge; only an explicit consent (a form the
    person ticked) turns it back on."""
    if incoming is None:
        return current
    if current is False and incoming is True and not explicit:
        return False
    return incoming


def merge_rows(a: PersonIn, b: PersonIn) -> PersonIn:
    """Two rows of one batch about the same person: the later non-empty value wins; opt-out sticks.
    Changes and returns `a`."""
    for f in fields(PersonIn):
        if f.name in ("attributes", "email_opt_in"):
            continue
        value = getattr(b, f.name)
        if value is not None:
            setattr(a, f.name, value)
    a.attributes = {**a.attributes, **b.attributes}
    a.email_opt_in = consent(a.email_opt_in, b.email_opt_in, explicit=False)
    return a


@dataclass(frozen=True, slots=True)
class Folded:
    """A batch with its rows about one person made one: `people[slot_of[i]]` is row i's person."""

    people: list[PersonIn]
    slot_of: list[int]

    def first_rows(self) -> list[bool]:
        """For each row, whether it is the first of its person (the others are duplicates)."""
        seen: set[int] = set()
        out = []
        for slot in self.slot_of:
            out.append(slot not in seen)
            seen.add(slot)
        return out


def fold_batch(items: list[PersonIn]) -> Folded:
    """Rows are the same person when they share an external id or e-mail (or, with neither, a
    phone). The caller's records are never changed: a row that absorbs another is copied first."""
    slot_by_key: dict[str, int] = {}
    people: list[PersonIn] = []
    owner: list[PersonIn] = []  # the caller's record each slot started from
    slot_of: list[int] = []
    for item in items:
        keys = [
            k
            for k in (
                f"x:{item.external_id}" if item.external_id else None,
                f"e:{item.email}" if item.email else None,
                f"p:{item.phone}" if not (item.external_id or item.email) else None,
            )
            if k
        ]
        slot = next((slot_by_key[k] for k in keys if k in slot_by_key), None)
        if slot is None:
            slot = len(people)
            people.append(item)
            owner.append(item)
        else:
            if people[slot] is owner[slot]:
                people[slot] = copy.copy(people[slot])
            merge_rows(people[slot], item)
        for k in keys:
            slot_by_key[k] = slot
        slot_of.append(slot)
    return Folded(people, slot_of)


def person_changes(
    stored: Mapping[str, Any],
    incoming: PersonIn,
    *,
    same_address: bool,
    address_taken: bool,
    account_id: int | None,
    account_hint_given: bool,
    external_id_held: bool = False,
    account_why: str | None,
    campaign_id: int | None,
    pinned: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """What an incoming record changes on a stored person (empty: nothing). A `pinned` field holds
    a value a person set by hand: the incoming one does not replace it (ADR 0021).

    `same_address`: the incoming e-mail is the stored one spelled another way (Gmail dots, a plus
    tag) or one of a merged-away record: the stored spelling stays. `address_taken`: it belongs to
    someone else already: it is kept beside, never stolen. `external_id_held`: the incoming external
    id is a record merged into this person already (its row keeps it): the stored one stays."""
    values = {c: getattr(incoming, c) for c in PERSON_COLUMNS if getattr(incoming, c) is not None}
    if "title" not in pinned:  # a title set by hand also keeps what it says of seniority and department
        values.update(from_title(incoming, stored))
    change: dict[str, Any] = {col: v for col, v in values.items() if stored[col] != v and col not in pinned}
    if "email" in pinned:
        change.pop("email_kind", None)
    attributes = dict(stored["attributes"])
    if "email" in change and same_address:
        del change["email"]
        change.pop("email_kind", None)
    if "external_id" in change and external_id_held:
        del change["external_id"]
    if "email" in change and address_taken:
        del change["email"]
        change.pop("email_kind", None)
        attributes["email_conflict"] = incoming.email
    if (
        account_id is not None
        and stored["account_id"] != account_id
        and (stored["account_id"] is None or account_hint_given)
    ):
        change["account_id"], change["account_match"] = account_id, account_why
    if campaign_id is not None and stored["campaign_id"] is None:
        change["campaign_id"] = campaign_id
    merged_attrs = {**attributes, **incoming.attributes}
    if merged_attrs != stored["attributes"]:
        change["attributes"] = merged_attrs
    return change


def from_title(incoming: PersonIn, stored: Mapping[str, Any] | None = None) -> dict[str, str | None]:
    """Seniority and department read from the job title (contract/titles.py), for the fields the
    record does not give itself: a given value always wins, and the raw title is kept as typed.
    On a stored person a value is replaced only when it was never set or is what the old title
    reads as (so it came from the title too); one someone set by hand stays."""
    if not incoming.title:
        return {}
    parsed = parse_title(incoming.title)
    old = parse_title(stored.get("title")) if stored else None
    out: dict[str, str | None] = {}
    for name in ("seniority", "department"):
        if getattr(incoming, name) is not None:
            continue
        current = stored.get(name) if stored else None
        if current is None or (old is not None and current == getattr(old, name)):
            new = getattr(parsed, name)
            if new is not None or current is not None:
                out[name] = new
    return out
