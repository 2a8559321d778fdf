"""The warehouse schema. The activity log is the truth; the rest is derived or reference data."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column

from leadloop.store.memo import forget
from leadloop.store.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


Money = sa.Numeric(18, 2)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    # A queue is a team that can own leads directly (e.g. "Marketing nurture").
    is_queue: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class Partner(Base):
    __tablename__ = "partners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    email: Mapped[str | None] = mapped_column(sa.String(320))
    # The programme tier sets how fast the partner must accept a lead (partners/model.py).
    tier: Mapped[str] = mapped_column(sa.String(20), default="registered", server_default="registered")
    created_at: Mapped[datetime]


class FormMapping(Base):
    """How one of a customer's web forms names its fields, when the automatic mapping is not enough:
    posted name -> contract field ("-" ignores it). A form is known by its hidden `form_id`, or by
    the path of the page it was posted from."""

    __tablename__ = "form_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    form_key: Mapped[str] = mapped_column(sa.String(300), unique=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class DealRegistration(Base):
    """An opportunity a partner found and registers, waiting for the channel manager's approval
    until it expires. What it matched in the warehouse is kept with the reasons."""

    __tablename__ = "deal_registrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    company: Mapped[str] = mapped_column(sa.String(200))
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    contact_email: Mapped[str | None] = mapped_column(sa.String(320))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    product: Mapped[str] = mapped_column(sa.String(100))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    expected_close: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(sa.String(2000))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # pending|approved|rejected|expired
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(sa.String(500))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id"))
    # What the warehouse already holds that looks like this deal: [{"kind", "id", "why"}, ...]
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Availability and escalation (routing): the rep's own calendar and manager.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # {"mon": "09:00-17:00", ...}
    holiday_country: Mapped[str | None] = mapped_column(sa.String(2))
    holiday_subdivision: Mapped[str | None] = mapped_column(sa.String(10))
    manager_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Set when an admin resets the password: the next sign-in must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class WebSession(Base):
    """A signed-in browser. The cookie holds only a random token; this row holds what it stands for,
    keyed by an HMAC of the token, so that a copy of the table signs nobody in."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )  # None: a visitor who has not signed in yet (the login form's CSRF token)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    ip: Mapped[str | None] = mapped_column(sa.String(64))


class AuditEvent(Base):
    """Security events (sign-ins, failures, keys, roles, passwords, exports). Append-only."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(sa.String(320))  # whom or what it was about
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class OutOfOffice(Base):
    __tablename__ = "out_of_office"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(sa.String(300))


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    scope: Mapped[str] = mapped_column(sa.String(20), default="full", server_default="full")


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300), unique=True)
    channel: Mapped[str | None] = mapped_column(sa.String(50))
    cost: Mapped[Decimal | None] = mapped_column(Money)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    utm_source: Mapped[str | None] = mapped_column(sa.String(200))
    utm_medium: Mapped[str | None] = mapped_column(sa.String(200))
    utm_campaign: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    created_at: Mapped[datetime]


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    # cleanco-stripped, case-folded name: how a domain-less account is found again.
    name_key: Mapped[str] = mapped_column(sa.String(300), index=True)
    domain: Mapped[str | None] = mapped_column(sa.String(253), unique=True)
    industry: Mapped[str | None] = mapped_column(sa.String(200))
    employees: Mapped[int | None]
    annual_revenue: Mapped[Decimal | None] = mapped_column(Money)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    state: Mapped[str | None] = mapped_column(sa.String(100))
    city: Mapped[str | None] = mapped_column(sa.String(200))
    postcode: Mapped[str | None] = mapped_column(sa.String(20))
    sic_code: Mapped[str | None] = mapped_column(sa.String(10))
    naics_code: Mapped[str | None] = mapped_column(sa.String(10))
    sites: Mapped[int | None]
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    parent_external_id: Mapped[str | None] = mapped_column(sa.String(200))
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)  # sticky routing
    enriched_at: Mapped[datetime | None]  # last time a provider was asked about this account
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # An account merged into another keeps its row (its domain, external id and name still find the
    # survivor) until an unmerge restores it.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    email_kind: Mapped[str | None] = mapped_column(sa.String(12))  # corporate | free | disposable
    first_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_name: Mapped[str | None] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(300))
    seniority: Mapped[str | None] = mapped_column(sa.String(50))
    department: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    company: Mapped[str | None] = mapped_column(sa.String(300))
    website: Mapped[str | None] = mapped_column(sa.String(253))
    street: Mapped[str | None] = mapped_column(sa.String(300))  # one address line: direct mail
    country: Mapped[str | None] = mapped_column(sa.String(2))
    state: Mapped[str | None] = mapped_column(sa.String(100))
    city: Mapped[str | None] = mapped_column(sa.String(200))
    postcode: Mapped[str | None] = mapped_column(sa.String(20))
    lead_source: Mapped[str | None] = mapped_column(sa.String(100))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    email_opt_in: Mapped[bool | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Scores (derived from the log; rebuilt on model activation). Engagement is (S, t0): see
    # scoring/decay.py. The key ln S + λ·t0 orders by current value without any rewrite.
    fit_score: Mapped[float | None]
    grade: Mapped[str | None] = mapped_column(sa.String(1))
    excluded_by: Mapped[str | None] = mapped_column(sa.String(60))
    engagement_s: Mapped[float] = mapped_column(default=0.0)
    engagement_t0: Mapped[float] = mapped_column(default=0.0)
    engagement_key: Mapped[float] = mapped_column(default=-1.0e300, index=True)
    # The people's predictive model (scoring/person_predictive.py): the probability that this
    # person's account reaches the target within the window, from the person's own activity, and why.
    predicted: Mapped[float | None]
    predicted_why: Mapped[list[list[Any]] | None] = mapped_column(JSONType)
    # Identity: a person merged into another keeps its row (its e-mail and ids still find the
    # survivor) until an unmerge restores it; and why the person was linked to their account.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    account_match: Mapped[str | None] = mapped_column(sa.String(300))


class PersonKey(Base):
    """Blocking keys of every live person (identity/realtime.py): a new person is compared only with
    the people who share a key, found through this index."""

    __tablename__ = "person_keys"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), primary_key=True, index=True)


class AccountKey(Base):
    """Tokens and the acronym of every account's cleaned name: how a free-mail lead's company name
    finds its account by similarity (identity/accounts.py), reordered or abbreviated."""

    __tablename__ = "account_keys"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True, index=True)


class Merge(Base):
    """One person merged into another: who, when, why, and a snapshot that lets unmerge restore both
    records exactly. Together with the suspected-duplicates decisions, the identity audit trail."""

    __tablename__ = "merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    merged_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(sa.String(20))  # auto | review | manual | warehouse
    probability: Mapped[float | None]
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    snapshot: Mapped[dict[str, Any]]
    unmerged_at: Mapped[datetime | None]
    unmerged_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class AccountMerge(Base):
    """One account merged into another (identity/account_merge.py): its contacts, timeline,
    opportunities and leads moved to the survivor, with a snapshot that lets unmerge restore both."""

    __tablename__ = "account_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    merged_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(sa.String(20))  # auto | review | manual | warehouse
    similarity: Mapped[float | None]
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    snapshot: Mapped[dict[str, Any]]
    unmerged_at: Mapped[datetime | None]
    unmerged_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class SuspectedAccountDuplicate(Base):
    """Two accounts whose names are alike but not alike enough to merge by themselves: a person
    decides (merge, or not the same; remembered)."""

    __tablename__ = "suspected_account_duplicates"
    __table_args__ = (sa.UniqueConstraint("account_id", "other_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)  # the lower id
    other_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    similarity: Mapped[float]
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # open | merged | distinct | gone
    found_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class MatchModelRow(Base):
    """The matcher's m and u probabilities as fitted on this warehouse (identity/fitted.py): a draft
    until activated; the real-time matcher and the warehouse pass use the one active row (ADR 0039)."""

    __tablename__ = "match_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    pairs: Mapped[int]  # candidate pairs it was fitted on
    params: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # draft | active | retired
    people: Mapped[int | None]  # live people it was fitted on (unknown for rows before 0031)
    activated_at: Mapped[datetime | None]


class SuspectedDuplicate(Base):
    """A pair of people that may be one, between the review and the auto-merge thresholds: a person
    decides (merge, or not the same; a "not the same" is remembered and never asked again)."""

    __tablename__ = "suspected_duplicates"
    __table_args__ = (sa.UniqueConstraint("person_id", "other_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)  # the lower id
    other_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    probability: Mapped[float]
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # open | merged | distinct | gone
    found_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


# Open leads by age and owner (analytics/sla.py), read from one index of `leads` (ADR 0047).
# A clock's columns (routing/sla_clocks.py), by the time of the assignment.
SLA_CLOCK_COLUMNS = (
    "assigned_at",
    "sla_due_at",
    "owner_user_id",
    "stage",
    "stage_changed_at",
    "first_touch_at",
    "accepted_at",
    "rejected_at",
    "id",
)
AGING_COLUMNS = (
    "stage",
    "owner_user_id",
    "owner_team_id",
    "assigned_at",
    "mql_at",
    "opened_at",
    "product",
    "campaign_id",
    "account_id",
)


class Lead(Base):
    """One account x one product interest, owned by exactly one user, queue or partner."""

    __tablename__ = "leads"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "product"),
        sa.CheckConstraint(
            "(CASE WHEN owner_user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN owner_team_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN owner_partner_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
        sa.Index("ix_leads_stage_last_activity", "stage", "last_activity_at"),
        # The SLA report reads the clocks assigned in its range from this index alone (migration
        # 0042); aging reads the open leads' owners and start times from an index alone (ADR 0047).
        sa.Index("ix_leads_sla_clocks", *SLA_CLOCK_COLUMNS),
        sa.Index("ix_leads_aging", *AGING_COLUMNS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    product: Mapped[str] = mapped_column(sa.String(100))
    stage: Mapped[str] = mapped_column(sa.String(20))
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    owner_team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    owner_partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"))
    source: Mapped[str | None] = mapped_column(sa.String(100))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    opened_at: Mapped[datetime]
    stage_changed_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    activity_count: Mapped[int] = mapped_column(default=0)
    contact_count: Mapped[int] = mapped_column(default=0)
    fit_score: Mapped[float | None]
    grade: Mapped[str | None] = mapped_column(sa.String(1))
    engagement_s: Mapped[float] = mapped_column(default=0.0)
    engagement_t0: Mapped[float] = mapped_column(default=0.0)
    engagement_key: Mapped[float] = mapped_column(default=-1.0e300, index=True)
    buying_roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    mql_at: Mapped[datetime | None]
    predicted: Mapped[float | None]  # calibrated probability of a won opportunity (predictive model)
    # Why: the features that move this lead's probability most, [[label, change in probability], ...]
    predicted_why: Mapped[list[list[Any]] | None] = mapped_column(JSONType)
    # probability times the deal size expected for its account's size and product (scoring/deal_value.py),
    # in the default currency, and where that size comes from
    expected_value: Mapped[float | None]
    expected_value_basis: Mapped[str | None] = mapped_column(sa.String(300))
    # Ownership and speed-to-lead (routing)
    assigned_at: Mapped[datetime | None]
    sla_policy: Mapped[str | None] = mapped_column(sa.String(100))
    sla_due_at: Mapped[datetime | None]
    first_touch_at: Mapped[datetime | None]
    sla_breached_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    rejected_reason: Mapped[str | None] = mapped_column(sa.String(100))


class LeadStageChange(Base):
    """A lead's stage history: a row per move (from, to, the trigger, why, who, the owner after it).
    Written only by `lifecycle/`; the funnel, conversion and velocity reports read it."""

    __tablename__ = "lead_stage_changes"
    __table_args__ = (
        sa.Index("ix_lead_stage_changes_lead_at", "lead_id", "at"),
        sa.Index("ix_lead_stage_changes_to_at", "to_stage", "at"),
        # The reports' facts refresh finds what moved since its watermark (ADR 0036).
        sa.Index("ix_lead_stage_changes_recorded_at", "recorded_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id"))
    at: Mapped[datetime]  # when it happened (a CRM's close date may be in the past)
    recorded_at: Mapped[datetime]
    from_stage: Mapped[str | None] = mapped_column(sa.String(20))  # none when the lead opened
    to_stage: Mapped[str] = mapped_column(sa.String(20))
    trigger: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    owner_team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    owner_partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"))


class AccountEngagement(Base):
    """Summed, decayed engagement of an account's contacts about one product, whether or not a lead
    is open yet: the lead opens when this crosses the model's threshold."""

    __tablename__ = "account_engagement"
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    product: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    s: Mapped[float] = mapped_column(default=0.0)
    t0: Mapped[float] = mapped_column(default=0.0)
    key: Mapped[float] = mapped_column(default=-1.0e300, index=True)


class VersionedDocument:
    """Columns of a document people edit as YAML: a draft until activated, one active at a time."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # a constraint object per table, not one shared
        return (sa.UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int]
    document: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # draft | active | retired
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]

    @classmethod
    def add_draft(
        cls, session: Session, *, name: str, version: int, text: str, now: datetime, what: str
    ) -> int:
        """Store a validated document as a draft; a (name, version) already saved is a conflict."""
        from leadloop.core.errors import Conflict

        taken = session.scalar(sa.select(sa.func.count()).where(cls.name == name, cls.version == version))
        if taken:
            raise Conflict(f"{what} {name!r} version {version} exists already; raise `version` in the file")
        row = cls()
        row.name, row.version, row.document, row.status, row.created_at = name, version, text, "draft", now
        session.add(row)
        session.flush()
        return row.id

    @classmethod
    def next_version(cls, session: Session, name: str, current: int) -> int:
        """One above the highest version of this name, saved or shipped."""
        top = session.scalar(sa.select(sa.func.max(cls.version)).where(cls.name == name))
        return max(int(top or 0), current) + 1

    @classmethod
    def make_active(cls, session: Session, row_id: int, *, now: datetime) -> None:
        """The one active version: the previous one retires in the same transaction."""
        forget(session)  # what this transaction read as active is not any more
        session.execute(sa.update(cls).where(cls.status == "active").values(status="retired"))
        session.execute(sa.update(cls).where(cls.id == row_id).values(status="active", activated_at=now))


class ScoringModelRow(VersionedDocument, Base):
    """Scoring models are versioned data (scoring/document.py)."""

    __tablename__ = "scoring_models"


class PredictiveModelRow(Base):
    """A trained predictive model: its report (judged on outcomes it did not see) and the fitted
    pipeline. Only this application writes the blob, and only it reads it back."""

    __tablename__ = "predictive_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    trained_on: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(10), index=True)  # active | retired
    report: Mapped[dict[str, Any]]
    blob: Mapped[bytes] = mapped_column(sa.LargeBinary)


class RoutingRuleSet(VersionedDocument, Base):
    """Routing rules are versioned data (routing/document.py)."""

    __tablename__ = "routing_rulesets"


class PoolMember(Base):
    """Fairness state of one member of one pool: the smooth-weighted-round-robin credit (see
    routing/pools.py). It lives per member, so membership changes never reset anyone's turn."""

    __tablename__ = "pool_members"
    pool: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    credit: Mapped[float] = mapped_column(default=0.0)
    last_assigned_at: Mapped[datetime | None]


class RoutingDecision(Base):
    """The audit of every ownership change: the path (rules evaluated, which matched, who was
    skipped and why) and the owner it ended with."""

    __tablename__ = "routing_decisions"
    __table_args__ = (sa.Index("ix_routing_decisions_owner_at", "owner_user_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id"), index=True)
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.String(30))  # mql | sla_reassign | rejected | rep_removed | manual
    ruleset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("routing_rulesets.id"))
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    owner_team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))
    owner_partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"))
    summary: Mapped[str] = mapped_column(sa.String(500))
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class Outbox(Base):
    """Side effects leave through here, written in the same transaction as the change that causes
    them; a deliverer sends and marks them. `key` makes enqueueing idempotent and travels with the
    message (Message-ID, webhook id) so a receiver can drop a resend."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(20))  # email | webhook
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))


class Provenance(Base):
    """Where a field's value came from: every enriched value keeps its source, method and time."""

    __tablename__ = "provenance"
    entity: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # account | person
    entity_id: Mapped[int] = mapped_column(primary_key=True)
    field: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    source: Mapped[str] = mapped_column(sa.String(200))
    method: Mapped[str] = mapped_column(sa.String(100))
    fetched_at: Mapped[datetime]


class Timer(Base):
    """A moment something must happen (a score decaying below a threshold, an SLA due): a row with
    a due time, claimed by a sweeper. No nightly job."""

    __tablename__ = "timers"
    __table_args__ = (
        sa.UniqueConstraint("kind", "subject"),
        sa.Index("ix_timers_pending", "done_at", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(100))  # e.g. "lead:42"
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # The due time the job engine holds a job for (PostgreSQL, ADR 0044); None when it holds none yet.
    armed_for: Mapped[datetime | None]


class Activity(Base):
    """Append-only: never deleted (erasure is itself an event). Updated in two ways only: a
    visitor's anonymous rows are linked to the person when they identify (capture/log.py's
    stitching), and an erasure strips what it must (privacy/erase.py)."""

    __tablename__ = "activities"
    __table_args__ = (
        sa.Index("ix_activities_person_time", "person_id", "occurred_at"),
        # Segments' behaviour conditions ("visited pricing twice in 14 days") over every person at
        # once: a range of one type's recent rows, their people read from the index alone.
        sa.Index("ix_activities_type_time_person", "type", "occurred_at", "person_id"),
        sa.Index("ix_activities_account_time", "account_id", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # What makes a retry a no-op: "ext:<external_id>", "idem:<key>" or a content fingerprint. Its
    # uniqueness is kept by `activity_keys` (on PostgreSQL this table is partitioned by month, and a
    # partitioned table cannot hold a unique key without its partition column: ADR 0043).
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), index=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(200))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    visitor_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    type: Mapped[str] = mapped_column(sa.String(50))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(sa.String(50))
    direction: Mapped[str | None] = mapped_column(sa.String(10))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    product: Mapped[str | None] = mapped_column(sa.String(100))
    value: Mapped[Decimal | None] = mapped_column(Money)
    url: Mapped[str | None] = mapped_column(sa.String(2048))
    source: Mapped[str] = mapped_column(sa.String(20))  # api | form | import | demo | system
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ActivityKey(Base):
    """The activity log's dedupe ledger: one row per dedupe key ever appended, with the activity it
    made. Capture inserts the key first (ON CONFLICT DO NOTHING): a key already here is a retry."""

    __tablename__ = "activity_keys"
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    activity_id: Mapped[int | None]


class Opportunity(Base):
    __tablename__ = "opportunities"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"))
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id"))
    product: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(sa.String(50))
    outcome: Mapped[str] = mapped_column(sa.String(10))  # won | lost | open
    amount: Mapped[Decimal | None] = mapped_column(Money)
    # ISO 4217; None is the settings' default currency. Amounts in two currencies are never added.
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    lost_reason: Mapped[str | None] = mapped_column(sa.String(300))
    # Conversion and outcomes from another CRM (issue 15, ADR 0035).
    name: Mapped[str | None] = mapped_column(sa.String(300))  # Salesforce's Opportunity Name, a deal's
    # When an open deal is expected to close (the CRM's close date of an open deal); a closed
    # deal's date is `closed_at`, so the time a lead converted is never a date in the future.
    expected_close_on: Mapped[date | None]
    updated_at: Mapped[datetime | None]
    converted_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class OpportunityContact(Base):
    """A person's role on an opportunity (decision maker, champion, ...). The person's timeline,
    campaign memberships and consent stay theirs: this row only points at them."""

    __tablename__ = "opportunity_contacts"
    __table_args__ = (sa.UniqueConstraint("opportunity_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(50))
    is_primary: Mapped[bool] = mapped_column(default=False)
    external_id: Mapped[str | None] = mapped_column(sa.String(200), unique=True)  # OpportunityContactRole Id
    source: Mapped[str] = mapped_column(sa.String(20))  # web | api | cli | import | demo
    created_at: Mapped[datetime]


class OpportunityStageChange(Base):
    """An opportunity's history: a row for each change of stage, outcome, amount or close date,
    whoever made it (a rep, an import, a partner). A stage that went backwards stays here."""

    __tablename__ = "opportunity_stage_changes"
    __table_args__ = (sa.Index("ix_opportunity_stage_changes_opportunity_at", "opportunity_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(sa.ForeignKey("opportunities.id"))
    at: Mapped[datetime]  # when it happened, as the source says (a CRM's close date may be past)
    recorded_at: Mapped[datetime]
    stage: Mapped[str | None] = mapped_column(sa.String(50))
    outcome: Mapped[str] = mapped_column(sa.String(10))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    expected_close_on: Mapped[date | None]
    backwards: Mapped[bool] = mapped_column(default=False)  # an earlier stage than the one before
    source: Mapped[str] = mapped_column(sa.String(20))
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(300))


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class FormIntake(Base):
    """A web-form submission as it came, its fields already checked, waiting to land (issue 19: the
    two-speed capture). Written at once when the form is posted; deleted in the moment its lead has
    landed, whose transaction also stores the key `form:<id>` so that a second landing is a no-op.
    On SQLite it lives in a file of its own beside the warehouse (capture/spool.py), so posting a
    form never waits for the warehouse's single writer."""

    __tablename__ = "form_intake"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    consent: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(1000))
    # Taken by a lander until then; a lander that died leaves it to the next one after that.
    claimed_until: Mapped[datetime | None] = mapped_column(index=True)


class ImportRun(Base):
    """One import of a CSV file, from the app or `leadloop import`: what came in, what was rejected
    and why, and how far it got. The counters are written in the transaction of each batch, so
    `rows_done` is exactly what landed, and a run killed half-way resumes from there."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(20))
    filename: Mapped[str] = mapped_column(sa.String(1000))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    encoding: Mapped[str] = mapped_column(sa.String(20))
    delimiter: Mapped[str] = mapped_column(sa.String(4))
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_created: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(20))  # draft | queued | running | done | failed
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # Import in the app (issue 13): who, from where, with which mapping, and how far it got.
    source: Mapped[str] = mapped_column(sa.String(10), default="cli", server_default="cli")  # web | cli
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    stored_path: Mapped[str | None] = mapped_column(sa.String(1000))  # the uploaded file, kept to run
    file_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    # {header: field or "-"} over the automatic mapping; {"stages": {value: stage or "-"},
    # "owners": {value: user id or null}}: the peer CRM's values, as the person running it chose.
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    choices: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rows_done: Mapped[int] = mapped_column(default=0, server_default="0")
    rows_unchanged: Mapped[int] = mapped_column(default=0, server_default="0")
    rows_warned: Mapped[int] = mapped_column(default=0, server_default="0")
    # Warnings by kind, owners not found, stage values not mapped: {"warnings": {kind: n}, ...}
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    heartbeat_at: Mapped[datetime | None]  # the runner's last sign of life (a stale one: interrupted)
    claim: Mapped[str | None] = mapped_column(sa.String(32))  # the runner that holds it
    error: Mapped[str | None] = mapped_column(sa.String(1000))


class ImportIssue(Base):
    """A rejected row of an import (its cells as they were, and why) or a warning on a row that
    landed (a value kept as typed). Written in the transaction of the row's batch."""

    __tablename__ = "import_issues"
    __table_args__ = (sa.Index("ix_import_issues_run_kind_line", "run_id", "kind", "line"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="CASCADE"))
    line: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(10))  # reject | warning
    message: Mapped[str] = mapped_column(sa.String(2000))
    cells: Mapped[list[str] | None] = mapped_column(JSONType)


# Website tracking (capture/tracking.py, capture/visits.py): the sites that may send beacons, every
# page view kept beside the activities it produced, and the people who objected to tracking.
class TrackingSite(Base):
    """A customer web site with the tracking script: its public key and the origins it may send from."""

    __tablename__ = "tracking_sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    site_key: Mapped[str] = mapped_column(sa.String(40), unique=True)  # public: it is in the page
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    collect_forms: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class WebPageView(Base):
    """One page a visitor loaded. A visit's first page of each kind is also an activity (scored);
    the rest are kept here, so 40 pages in one visit are one score bump, not 40."""

    __tablename__ = "web_page_views"
    __table_args__ = (sa.Index("ix_web_page_views_visitor_time", "visitor_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("tracking_sites.id"))
    visitor_id: Mapped[str] = mapped_column(sa.String(64))
    session_key: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(50))
    url: Mapped[str] = mapped_column(sa.String(2048))
    title: Mapped[str | None] = mapped_column(sa.String(300))
    referrer: Mapped[str | None] = mapped_column(sa.String(2048))
    at: Mapped[datetime]


class TrackingObjection(Base):
    """A person who objected to tracking: no visit of theirs is stored from then on."""

    __tablename__ = "tracking_objections"
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), primary_key=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(sa.String(50))


# Edit and reassign (issue 13, item 4): every manual edit of a person or an account, as it was made.
class RecordEdit(Base):
    """A person (staff) changed fields of a person or an account by hand: who, when, and each
    field's old and new value. Append-only; the manual values are also pinned in `provenance`
    (method "manual") so that a later import, form or merge does not silently undo them."""

    __tablename__ = "record_edits"
    __table_args__ = (sa.Index("ix_record_edits_entity_at", "entity", "entity_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(20))  # person | account
    entity_id: Mapped[int]
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    changes: Mapped[dict[str, Any]]  # {field: [old, new]}


# The rep's workbench (issue 13): notes, tasks and in-app notifications.
def _one_subject() -> sa.CheckConstraint:
    return sa.CheckConstraint(
        "(CASE WHEN lead_id IS NULL THEN 0 ELSE 1 END)"
        " + (CASE WHEN person_id IS NULL THEN 0 ELSE 1 END)"
        " + (CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) = 1",
        name="one_subject",
    )


class Note(Base):
    """A person's words on a lead, a person or an account (exactly one). Kept, never edited: a
    correction is another note."""

    __tablename__ = "notes"
    __table_args__ = (_one_subject(),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    author_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime]


class Task(Base):
    """A follow-up someone owns, due at a time, about a lead, a person or an account (exactly one).
    Its reminder is a `task_due` timer; `reminded_at` says it went out."""

    __tablename__ = "tasks"
    __table_args__ = (
        _one_subject(),
        sa.Index("ix_tasks_owner_open_due", "owner_user_id", "done_at", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[datetime]
    owner_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]


class DocumentComment(Base):
    """A remark on one saved version of a versioned document (a draft scoring model a sales manager
    wrote, a marketer's answer): `kind` is the document kind's slug, `document_id` the version's id
    in that kind's table."""

    __tablename__ = "document_comments"
    __table_args__ = (sa.Index("ix_document_comments_document", "kind", "document_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    document_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(sa.Text)


class Notification(Base):
    """Something a user should see in the app, written by a reaction to an event. `key` makes a
    retried reaction a no-op (one notification per thing that happened)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str | None] = mapped_column(sa.String(1000))
    link: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


# Home, search and lists (issue 13, item 6): a person's named filter sets on a list.
class SavedView(Base):
    """A named filter set on one list (leads, people, accounts, campaigns), personal to its user."""

    __tablename__ = "saved_views"
    __table_args__ = (sa.UniqueConstraint("user_id", "list_name", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    list_name: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(80))
    query: Mapped[str] = mapped_column(sa.String(2000))  # the list's query string, page left out
    created_at: Mapped[datetime]


# The qualification desk (issue 13, item 3): a BDR's qualifying call on a lead.


class LeadQualification(Base):
    """One visit of a lead to the qualification desk: the answers (BANT by default, as the routing
    rule set's `qualification` names them; each {choice, label, note}, the label as it read then),
    and the BDR's outcome: handed over to a field rep (with the firmographics as they stood), back
    to nurture or disqualified, with the reason. The lead's stage itself moves through lifecycle/."""

    __tablename__ = "lead_qualifications"
    __table_args__ = (sa.Index("ix_lead_qualifications_lead_id_id", "lead_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # handed_over | nurture | disqualified
    reason: Mapped[str | None] = mapped_column(sa.String(40))  # the reason's code
    reason_label: Mapped[str | None] = mapped_column(sa.String(80))
    outcome_note: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    handed_to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    firmographics: Mapped[list[list[str]] | None] = mapped_column(JSONType)  # [[label, value], ...]


# Consent and GDPR (issue 14, items 4 and 5; consent/ and privacy/, ADR 0027).
class ConsentEvent(Base):
    """Append-only: every change of a person's consent, per subscription type or for all of them
    (`scope` "*"), with its legal basis, where it came from and when. Its order (id) is the truth."""

    __tablename__ = "consent_events"
    __table_args__ = (sa.Index("ix_consent_events_person_id_id", "person_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"))
    scope: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(12))  # granted | pending | withdrawn | expired
    basis: Mapped[str | None] = mapped_column(sa.String(24))  # consent | implied | legitimate_interest
    source: Mapped[str] = mapped_column(sa.String(40))  # form | import | api | unsubscribe | merge ...
    detail: Mapped[str | None] = mapped_column(sa.String(300))
    at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class Consent(Base):
    """Where each scope of a person's consent stands now: the latest entry of the log for it
    (`seq`), kept beside the log so the send gate and segment filters read one indexed row."""

    __tablename__ = "consents"
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(12), index=True)
    basis: Mapped[str | None] = mapped_column(sa.String(24))
    source: Mapped[str] = mapped_column(sa.String(40))
    since: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    seq: Mapped[int]


class Suppression(Base):
    """An address or a whole domain no marketing message is ever sent to, whatever the consent."""

    __tablename__ = "suppressions"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # address | domain
    value: Mapped[str] = mapped_column(sa.String(320), index=True)
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    source: Mapped[str] = mapped_column(sa.String(40))  # admin | api | bounce | complaint
    created_at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class Erasure(Base):
    """A person erased at their request (GDPR Art. 17): the row stays, emptied, so that activities
    keep adding up in every report; who did it and when."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), unique=True)
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    people: Mapped[int] = mapped_column(default=1)  # rows emptied: the person and those merged into them


class ErasedKey(Base):
    """A SHA-256 of what identified an erased person (address, its matching key, external id): a
    re-import or a form carrying one is refused, so the data never comes back. Only the hash stays."""

    __tablename__ = "erased_keys"
    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    erasure_id: Mapped[int] = mapped_column(sa.ForeignKey("erasures.id"), index=True)


# Segments (issue 14, item 1): saved filters over people, kept up to date by events (segments/).
class Segment(Base):
    """A named definition (segments/model.py), its members kept in `segment_members` and every
    entry and exit in `segment_changes`. `revision` counts the saves of the definition."""

    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(500))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]
    updated_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    size: Mapped[int] = mapped_column(default=0)
    built_at: Mapped[datetime | None]  # the last full rebuild (events keep it current in between)
    build_ms: Mapped[float | None]
    archived_at: Mapped[datetime | None] = mapped_column(index=True)


class SegmentMember(Base):
    """Who is in a segment now. No foreign key to people (a person row is never deleted; erasure
    anonymises it), so that a rebuild inserting a million rows checks nothing but its own key."""

    __tablename__ = "segment_members"
    __table_args__ = {"sqlite_with_rowid": False}
    segment_id: Mapped[int] = mapped_column(sa.ForeignKey("segments.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(primary_key=True)
    entered_at: Mapped[datetime]


class SegmentChange(Base):
    """Append-only: a person entered (`entered` true) or left a segment, when, and why (`cause`:
    event, rebuild, refresh, edit, archive). The events SegmentEntered and SegmentLeft point at a
    range of these rows."""

    __tablename__ = "segment_changes"
    __table_args__ = (sa.Index("ix_segment_changes_segment_id_id", "segment_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(sa.ForeignKey("segments.id"))
    person_id: Mapped[int]
    entered: Mapped[bool]
    at: Mapped[datetime]
    cause: Mapped[str] = mapped_column(sa.String(10))
    revision: Mapped[int]


# Sequences (issue 14, item 2): drip sequences as versioned documents, and the people in them.
class SequenceRow(VersionedDocument, Base):
    """Sequences are versioned data (nurture/document.py). Unlike a scoring model, several run at
    once: one active version of each name. An enrolment keeps the version it entered with."""

    __tablename__ = "sequences"

    @classmethod
    def make_active(cls, session: Session, row_id: int, *, now: datetime) -> None:
        """The one active version of this name: its previous one retires in the same transaction."""
        forget(session)
        name = session.scalar(sa.select(cls.name).where(cls.id == row_id))
        session.execute(
            sa.update(cls).where(cls.status == "active", cls.name == name).values(status="retired")
        )
        session.execute(sa.update(cls).where(cls.id == row_id).values(status="active", activated_at=now))


class Enrolment(Base):
    """One person's way through one sequence. While `state` is active it has exactly one pending
    `nurture_step` timer (subject `enrolment:<id>`) for `step`; completed or exited, none (checked by
    `leadloop doctor`). At most one active enrolment per person and sequence name."""

    __tablename__ = "enrolments"
    __table_args__ = (
        sa.Index(
            "uq_enrolments_one_active",
            "person_id",
            "sequence_name",
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        ),
        sa.Index("ix_enrolments_sequence_state", "sequence_name", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id"), index=True)
    sequence_id: Mapped[int] = mapped_column(sa.ForeignKey("sequences.id"))  # the version entered
    sequence_name: Mapped[str] = mapped_column(sa.String(100))
    state: Mapped[str] = mapped_column(sa.String(10))  # active | completed | exited
    step: Mapped[str] = mapped_column(sa.String(40))  # the step its timer is for ("end": finishing)
    actions: Mapped[int] = mapped_column(default=0)  # actions taken: part of each outbox key
    trigger: Mapped[str] = mapped_column(
        sa.String(20)
    )  # manual | inquiry | recycled | cooled | stage | activity
    trigger_detail: Mapped[str | None] = mapped_column(sa.String(200))
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    entered_at: Mapped[datetime]
    exited_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(sa.String(40))
    note: Mapped[str | None] = mapped_column(sa.String(300))  # the latest deferral or refusal, in words


class NurtureStep(Base):
    """What happened at each step of an enrolment: sent, deferred (and why), a branch taken, a task,
    a webhook, a stage change, a refusal. Append-only; the sequence report reads it."""

    __tablename__ = "nurture_steps"
    __table_args__ = (sa.Index("ix_nurture_steps_enrolment_id_id", "enrolment_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id"))
    step: Mapped[str] = mapped_column(sa.String(40))
    # email | wait | branch | task | webhook | stage | postal (direct mail) | exit
    kind: Mapped[str] = mapped_column(sa.String(10))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(sa.String(300))


class NurtureSend(Base):
    """A marketing e-mail a sequence put in the outbox: what the per-person throttle counts (written
    in the transaction that checked it) and what an open or a click is matched to."""

    __tablename__ = "nurture_sends"
    __table_args__ = (sa.Index("ix_nurture_sends_person_sent", "person_id", "sent_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"))
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(40))
    sent_at: Mapped[datetime]
    outbox_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    # The Message-ID it went out with (jobs/outbox.message_id): a reply's In-Reply-To names it.
    message_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)


class DirectMail(Base):
    """A person on a sequence's mailing list for one piece of direct mail (`direct_mail: {via: list}`),
    exported as CSV for a print house. No address here: the export reads the person's address as it
    is then (a correction counts; an erasure empties it). A withdrawal from everything or an erasure
    deletes the person's rows in its own transaction (nurture/reactions.py)."""

    __tablename__ = "direct_mail"
    __table_args__ = (sa.Index("ix_direct_mail_list", "sequence_name", "piece", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)  # as an outbox key: one row per action
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    sequence_name: Mapped[str] = mapped_column(sa.String(100))
    step: Mapped[str] = mapped_column(sa.String(40))
    piece: Mapped[str] = mapped_column(sa.String(100))
    listed_at: Mapped[datetime]


# Reports (issue 15): one row of facts per lead and per opportunity, derived from the rows above by
# analytics/facts.py and kept current by a timer (ADR 0036). Every report groups these; nothing
# else writes them, and a full rebuild from the source rows gives the same table.
# What the counts rollup groups by, and what a scope filters on (ADR 0047); the covering indexes of
# `lead_facts` carry them too.
CUBE_DIMS = ("source", "campaign_id", "product", "team_id", "owner_user_id", "grade", "rule")
CUBE_FACT_COLUMNS = ("cohort", *CUBE_DIMS, "account_id")
CAPACITY_COLUMNS = (
    "opened_at",
    "cohort",
    "owner_user_id",
    "assigned_week",
    "response_minutes",
    "within_sla",
    "campaign_id",
    "product",
    "team_id",
    "account_id",
)
SPEED_BUCKETS = 6  # facts_model.BUCKETS
CUBE_MEASURES = (
    "leads",
    *(f"reached_{i}" for i in range(1, 6)),
    "recycled",
    "reactivated",
    "handed",
    "handed_accepted",
    "handed_rejected",
    "handed_within_sla",
    "handed_converted",
    "handed_won",
    "handed_touches",
    *(f"bucket_{b}_{m}" for b in range(SPEED_BUCKETS) for m in ("leads", "sal", "sql", "opp", "won")),
)


def _cube_columns(*extra: sa.Column[Any]) -> list[sa.Column[Any]]:
    return [
        sa.Column("grain", sa.String(1), nullable=False),  # "M": a month, "D": a day (ADR 0047)
        sa.Column("period", sa.String(10), nullable=False),  # its first day, YYYY-MM-DD
        sa.Column("source", sa.String(100)),
        sa.Column("campaign_id", sa.Integer),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("team_id", sa.Integer),
        sa.Column("owner_user_id", sa.Integer),
        sa.Column("grade", sa.String(1)),
        sa.Column("rule", sa.String(200)),
        *extra,
    ]


LEAD_CUBE = sa.Table(
    "lead_cube",
    Base.metadata,
    *_cube_columns(*(sa.Column(m, sa.Integer, nullable=False) for m in CUBE_MEASURES)),
    sa.Index("ix_lead_cube_grain_period", "grain", "period"),
)
LEAD_CUBE_MONEY = sa.Table(
    "lead_cube_money",
    Base.metadata,
    *_cube_columns(
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("handed_won_amount", Money, nullable=False),
    ),
    sa.Index("ix_lead_cube_money_grain_period", "grain", "period"),
)

# Attribution's credits kept per opportunity by the facts' refresh (ADR 0048): for each grouping
# (campaign, channel, content), each group and campaign of the opportunity's windowed touches, the
# credit in cents of every model but the data-driven one (which depends on the range), under the
# default window and half-life. Won and open opportunities only: a lost one carries no money. SQLite
# keeps the rows in key order, so a report's range is one sequential read.
CREDIT_MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "full_path", "time_decay")
OPP_CREDITS = sa.Table(
    "opportunity_credits",
    Base.metadata,
    sa.Column("by_kind", sa.String(8), primary_key=True),
    sa.Column("dated", UTCDateTime(), primary_key=True),  # won: its close, open: its creation
    sa.Column("opp_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),  # the row's place among the opportunity's
    sa.Column("day", sa.String(10), nullable=False),  # `dated`'s UTC day, YYYY-MM-DD
    sa.Column("grp", sa.String(2048), nullable=False),  # channel or content ("" by campaign)
    sa.Column("campaign_id", sa.Integer, nullable=False),  # the touches' campaign, 0 for none
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),  # the opportunity's, in cents
    sa.Column("touches", sa.Integer, nullable=False),
    *(sa.Column(m, sa.BigInteger, nullable=False) for m in CREDIT_MODELS),
    sa.Index("ix_opportunity_credits_opp_id", "opp_id"),
    sqlite_with_rowid=False,
)
# Their sums per day and month of `dated` (grain "D"/"M", period: the first day), per grouping,
# group, campaign, currency and outcome: a report's range reads whole months and its ends, as the
# lead rollup does (ADR 0047).
CREDIT_CUBE_KEYS = ("by_kind", "grp", "campaign_id", "currency", "outcome")
CREDIT_CUBE_SUMS = ("amount", "touches", *CREDIT_MODELS)
CREDIT_CUBE = sa.Table(
    "opportunity_credit_cube",
    Base.metadata,
    sa.Column("grain", sa.String(1), nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("by_kind", sa.String(8), nullable=False),
    sa.Column("grp", sa.String(2048), nullable=False),
    sa.Column("campaign_id", sa.Integer, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("outcome", sa.String(8), nullable=False),
    *(sa.Column(m, sa.BigInteger, nullable=False) for m in CREDIT_CUBE_SUMS),
    sa.Index("ix_opportunity_credit_cube_period", "by_kind", "grain", "period"),
)
# Each won, lost and open opportunity's windowed touches in order: their campaigns' ids (4 bytes
# each, little-endian, 0 for none), their channels and contents (joined by PATH_SEP): what the
# Markov model learns from and shares out, per range. A campaign is named when read, so a rename
# shows at once.
PATH_SEP = "\x1f"
OPP_PATHS = sa.Table(
    "opportunity_paths",
    Base.metadata,
    sa.Column("dated", UTCDateTime(), primary_key=True),  # won, lost: its close; open: its creation
    sa.Column("opp_id", sa.Integer, primary_key=True),
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),  # cents
    sa.Column("touches", sa.Integer, nullable=False),
    sa.Column("campaign_ids", sa.LargeBinary, nullable=False),
    sa.Column("channels", sa.Text, nullable=False),
    sa.Column("contents", sa.Text, nullable=False),
    sa.Index("ix_opportunity_paths_opp_id", "opp_id"),
    sqlite_with_rowid=False,
)


class LeadFactRow(Base):
    __tablename__ = "lead_facts"
    __table_args__ = (
        sa.Index("ix_lead_facts_opened_at", "opened_at"),
        sa.Index("ix_lead_facts_campaign_opened", "campaign_id", "opened_at"),
        sa.Index("ix_lead_facts_account_id", "account_id"),
        sa.Index("ix_lead_facts_assigned_at", "assigned_at"),
        # Covering and partial: the funnel's duration histograms and the audit's rejection reasons
        # read these alone, never the wide rows (ADR 0047).
        *(
            sa.Index(
                f"ix_lead_facts_{col}",
                "cohort",  # by cohort, the histogram is read in the index's order
                col,
                "opened_at",
                *CUBE_FACT_COLUMNS[1:],
                sqlite_where=sa.text(f"{col} IS NOT NULL"),
                postgresql_where=sa.text(f"{col} IS NOT NULL"),
            )
            for col in ("h_inquiry", "h_mql", "h_sal", "h_sql", "h_opportunity")
        ),
        sa.Index(  # capacity: per rep and week of assignment, the response minutes
            "ix_lead_facts_capacity",
            *CAPACITY_COLUMNS,
            sqlite_where=sa.text("owner_user_id IS NOT NULL AND assigned_week IS NOT NULL"),
            postgresql_where=sa.text("owner_user_id IS NOT NULL AND assigned_week IS NOT NULL"),
        ),
        sa.Index(  # its condition as SQLAlchemy writes the audit's, so that SQLite can use it
            "ix_lead_facts_rejected_reason",
            "opened_at",
            "rejected_reason",
            *CUBE_FACT_COLUMNS,
            "handed",  # the condition's columns too, or SQLite visits the rows
            "rejected",
            sqlite_where=sa.text("handed IS 1 AND rejected IS 1"),
            postgresql_where=sa.text("handed IS true AND rejected IS true"),
        ),
    )
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id"), primary_key=True, autoincrement=False)
    account_id: Mapped[int]
    product: Mapped[str] = mapped_column(sa.String(100))
    source: Mapped[str | None] = mapped_column(sa.String(100))
    campaign_id: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(sa.String(1))
    owner_user_id: Mapped[int | None]
    team_id: Mapped[int | None]
    rule: Mapped[str | None] = mapped_column(sa.String(200))
    cohort: Mapped[str] = mapped_column(sa.String(7))
    opened_day: Mapped[str | None] = mapped_column(sa.String(10))  # None only before migration 0040's rebuild
    opened_at: Mapped[datetime]
    first_seen_at: Mapped[datetime]
    furthest: Mapped[int]
    lost: Mapped[bool]
    mql_at: Mapped[datetime | None]
    sal_at: Mapped[datetime | None]
    sql_at: Mapped[datetime | None]
    opp_at: Mapped[datetime | None]
    won_at: Mapped[datetime | None]
    h_inquiry: Mapped[int | None]
    h_mql: Mapped[int | None]
    h_sal: Mapped[int | None]
    h_sql: Mapped[int | None]
    h_opportunity: Mapped[int | None]
    handed: Mapped[bool]
    assigned_at: Mapped[datetime | None]
    assigned_week: Mapped[str | None] = mapped_column(sa.String(10))
    accepted: Mapped[bool]
    rejected: Mapped[bool]
    rejected_reason: Mapped[str | None] = mapped_column(sa.String(100))
    within_sla: Mapped[bool]
    sla_due_at: Mapped[datetime | None]
    first_touch_at: Mapped[datetime | None]
    response_minutes: Mapped[int | None]
    bucket: Mapped[str | None] = mapped_column(sa.String(12))
    recycled: Mapped[bool]
    reactivated: Mapped[bool]
    sales_touches: Mapped[int]


class OppFactRow(Base):
    __tablename__ = "opportunity_facts"
    __table_args__ = (
        sa.Index("ix_opportunity_facts_lead_id", "lead_id"),
        # Covering: the funnel's revenue share reads the won deals of a range from it alone (ADR 0047).
        sa.Index(
            "ix_opportunity_facts_outcome_closed",
            "outcome",
            "closed_at",
            "lead_id",
            "currency",
            "amount",
            "reactivated",
            "months_seen",
        ),
    )
    opp_id: Mapped[int] = mapped_column(
        sa.ForeignKey("opportunities.id"), primary_key=True, autoincrement=False
    )
    lead_id: Mapped[int | None]
    account_id: Mapped[int | None]
    product: Mapped[str | None] = mapped_column(sa.String(100))
    outcome: Mapped[str] = mapped_column(sa.String(10))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    stage: Mapped[str | None] = mapped_column(sa.String(50))
    close_month: Mapped[str | None] = mapped_column(sa.String(7))
    months_seen: Mapped[int | None]
    reactivated: Mapped[bool]


class FactsRefresh(Base):
    """Where the facts' incremental refresh got to: source rows recorded before `watermark` are in."""

    __tablename__ = "facts_refresh"
    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    watermark: Mapped[datetime]
    full_at: Mapped[datetime | None]  # the last full rebuild
    # The newest activity the row's last refresh saw (attribution's credits: ADR 0048), so that the
    # next one finds the activities added since, whatever their dates.
    activity_mark: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The campaigns' channels the credits were built with (a digest): a change rebuilds them.
    campaigns_key: Mapped[str | None] = mapped_column(sa.String(64))
