"""Routing rules are a document: ordered rules with conditions and an owner to assign, pools,
SLA policies, the reasons a rep may reject a lead, and the qualification desk (the BANT form a
BDR fills in, the reasons to send a lead back, the desk's SLA). YAML in and out; every problem names its
line; a rule set without a catch-all is accepted with a warning, one without a fallback is not."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from leadloop.contract.normalise import normalise_country
from leadloop.core.errors import InvalidInput
from leadloop.core.yamldoc import DocumentError, line_of, parse_document

Grade = Literal["A", "B", "C", "D"]
DEFAULT_REJECT_REASONS = (
    "not_a_fit",
    "no_budget",
    "bad_contact_data",
    "duplicate",
    "competitor",
    "student",
    "already_customer",
    "no_response",
)


class RoutingDocumentError(DocumentError):
    """A routing rule set that cannot be used, with every problem and its line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


OWNER_KINDS = ("user", "pool", "queue", "partner", "bdr")


class Owner(_Strict):
    """Exactly one of: a user (e-mail), a pool, a queue (team name), a partner (name), or the
    qualification desk: `bdr: queue` (the BDR queue, any BDR takes it) or `bdr: <pool>` (a pool of
    BDRs), for a qualifying call before the lead goes to field sales."""

    user: str | None = None
    pool: str | None = None
    queue: str | None = None
    partner: str | None = None
    bdr: str | None = None

    @property
    def kind(self) -> str:
        return next(k for k in OWNER_KINDS if getattr(self, k) is not None)

    @property
    def name(self) -> str:
        return str(getattr(self, self.kind))


class Band(_Strict):
    min: float | None = None
    max: float | None = None

    def holds(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class When(_Strict):
    """All given conditions must hold. Lists match any of their values (case-insensitive)."""

    country: list[str] | None = None
    state: list[str] | None = None
    postcode: list[str] | None = None  # "10000-19999" ranges or "SW1*" prefixes or exact codes
    industry: list[str] | None = None
    employees: Band | None = None
    revenue: Band | None = None
    grade: list[Grade] | None = None
    product: list[str] | None = None
    source: list[str] | None = None
    accounts: list[str] | None = None  # named accounts: external id, domain or exact name


class Rule(_Strict):
    name: str = Field(min_length=1, max_length=100)
    when: When | None = None  # none: a catch-all
    assign: Owner


class Member(_Strict):
    user: str
    weight: float = 1.0
    daily_cap: int | None = None
    weekly_cap: int | None = None


class Pool(_Strict):
    mode: Literal["round_robin", "weighted", "load_balanced"] = "round_robin"
    members: list[Member]


class SlaPolicy(_Strict):
    """Business minutes in the owner's calendar, from assignment."""

    name: str = Field(min_length=1, max_length=100)
    when: When | None = None
    first_touch_minutes: float
    remind_at: float | None = None
    escalate_at: float | None = None
    reassign_at: float | None = None
    escalate_to: str = "manager"  # "manager" (the owner's) or a user's e-mail


_CODE = r"^[a-z][a-z0-9_]{0,39}$"  # a code kept in the database; people read its label


class QualificationField(_Strict):
    """One question of the qualifying call: a choice (code: label) and a free note."""

    key: str = Field(pattern=_CODE)
    label: str = Field(min_length=1, max_length=60)
    choices: dict[str, str]
    required: bool = True  # an answer is needed before the lead is handed over


def _choices(*pairs: str) -> dict[str, str]:
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


DEFAULT_QUALIFICATION_FIELDS = (
    QualificationField(
        key="budget",
        label="Budget",
        choices=_choices(
            "approved",
            "Budget approved",
            "planned",
            "Budget planned",
            "none",
            "No budget",
            "unknown",
            "Not known yet",
        ),
    ),
    QualificationField(
        key="authority",
        label="Authority",
        choices=_choices(
            "decision_maker",
            "Decision-maker",
            "influencer",
            "Influences the decision",
            "user",
            "User or evaluator",
            "unknown",
            "Not known yet",
        ),
    ),
    QualificationField(
        key="need",
        label="Need",
        choices=_choices(
            "urgent", "Urgent pain", "clear", "Clear need", "vague", "Vague interest", "none", "No need"
        ),
    ),
    QualificationField(
        key="timeline",
        label="Timeline",
        choices=_choices(
            "quarter",
            "This quarter",
            "half_year",
            "Within six months",
            "later",
            "Later than six months",
            "none",
            "No timeline",
        ),
    ),
)
DEFAULT_NURTURE_REASONS = _choices(
    "not_ready",
    "Not ready yet",
    "no_budget_yet",
    "No budget this year",
    "researching",
    "Researching only",
    "unreachable",
    "Could not reach them",
)
DEFAULT_DISQUALIFY_REASONS = _choices(
    "not_a_fit",
    "Not a fit",
    "no_need",
    "No need",
    "competitor",
    "Competitor",
    "student",
    "Student or job seeker",
    "already_customer",
    "Already a customer",
    "bad_contact_data",
    "Bad contact data",
    "duplicate",
    "Duplicate",
)


class Qualification(_Strict):
    """The qualification desk: the form a BDR fills in on the call (BANT by default), the reasons to
    send a lead back to nurture or disqualify it, and how soon the desk should decide."""

    fields: list[QualificationField] = Field(default_factory=lambda: list(DEFAULT_QUALIFICATION_FIELDS))
    note_max: int = 1000  # characters per note
    within_minutes: float = 240  # the desk's SLA: business minutes from the BDR queue to an outcome
    nurture_reasons: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_NURTURE_REASONS))
    disqualify_reasons: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_DISQUALIFY_REASONS))

    def field(self, key: str) -> QualificationField | None:
        return next((f for f in self.fields if f.key == key), None)


class RuleSet(_Strict):
    name: str = Field(min_length=1, max_length=100)
    version: int = 1
    description: str | None = None
    account_owner_sticky: bool = True
    fallback: Owner
    rules: list[Rule] = Field(default_factory=list)
    pools: dict[str, Pool] = Field(default_factory=dict)
    sla: list[SlaPolicy] = Field(default_factory=list)
    reject_reasons: Annotated[list[str], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_REJECT_REASONS)
    )
    qualification: Qualification = Field(default_factory=Qualification)

    def warnings(self) -> list[str]:
        if not any(r.when is None for r in self.rules):
            return [
                f"no rule is a catch-all (a rule without `when`); leads no rule matches go to the fallback "
                f"{self.fallback.kind} {self.fallback.name!r}"
            ]
        return []

    def users(self) -> set[str]:
        """Every user e-mail the rule set names (checked against the directory on activation)."""
        named = {r.assign.user for r in self.rules if r.assign.user}
        named |= {m.user for p in self.pools.values() for m in p.members}
        named |= {s.escalate_to for s in self.sla if s.escalate_to != "manager"}
        if self.fallback.user:
            named.add(self.fallback.user)
        return {n.lower() for n in named if n}

    def to_yaml(self) -> str:
        return yaml.safe_dump(
            self.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True
        )


def parse_rules(text: str) -> RuleSet:
    rules, root = parse_document(text, RuleSet, what="a routing rule set", error=RoutingDocumentError)
    problems = [(line_of(root, path), msg) for path, msg in _semantic_problems(rules)]
    if problems:
        raise RoutingDocumentError(problems)
    return rules


def _owner_problems(
    o: Owner, path: tuple[Any, ...], pools: dict[str, Pool]
) -> list[tuple[tuple[Any, ...], str]]:
    given = [k for k in OWNER_KINDS if getattr(o, k) is not None]
    if len(given) != 1:
        return [(path, "an owner needs exactly one of user, pool, queue, partner, bdr")]
    if o.pool is not None and o.pool not in pools:
        return [((*path, "pool"), f"no pool named {o.pool!r}; pools: {', '.join(pools) or 'none'}")]
    if o.bdr is not None and o.bdr != "queue" and o.bdr not in pools:
        return [
            (
                (*path, "bdr"),
                f"bdr: {o.bdr!r} is neither `queue` (the BDR queue) nor a pool; pools: {', '.join(pools) or 'none'}",
            )
        ]
    return []


def _qualification_problems(q: Qualification) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    if not 1 <= len(q.fields) <= 12:
        out.append((("qualification", "fields"), "the qualification form needs between 1 and 12 fields"))
    seen: set[str] = set()
    for i, f in enumerate(q.fields):
        if f.key in seen:
            out.append((("qualification", "fields", i, "key"), f"field {f.key!r} is listed twice"))
        seen.add(f.key)
        if len(f.choices) < 2:
            out.append(
                (("qualification", "fields", i, "choices"), f"field {f.key!r} needs at least two choices")
            )
        out += _codes(f.choices, ("qualification", "fields", i, "choices"))
    if not 1 <= q.note_max <= 5000:
        out.append((("qualification", "note_max"), "note_max must be between 1 and 5000 characters"))
    if q.within_minutes <= 0:
        out.append(
            (("qualification", "within_minutes"), "within_minutes must be a positive number of minutes")
        )
    for key in ("nurture_reasons", "disqualify_reasons"):
        reasons: dict[str, str] = getattr(q, key)
        if not reasons:
            out.append((("qualification", key), f"{key} needs at least one reason"))
        out += _codes(reasons, ("qualification", key))
    return out


def _codes(labels: dict[str, str], path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """Codes are kept in the database, labels are what people read: both must be usable."""
    import re

    out: list[tuple[tuple[Any, ...], str]] = []
    for code, label in labels.items():
        if not re.match(_CODE, code):
            out.append(
                (
                    (*path, code),
                    f"{code!r} is not a usable code: lower-case letters, digits and _, like not_ready",
                )
            )
        if not str(label).strip() or len(str(label)) > 80:
            out.append(((*path, code), f"the label of {code!r} must be 1 to 80 characters"))
    return out


def _when_problems(w: When | None, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    if w is None:
        return out
    for c in w.country or []:
        try:
            normalise_country(c)
        except InvalidInput:
            out.append(((*path, "country"), f"unknown country {c!r}; use ISO codes such as DE or US"))
    for band, label in ((w.employees, "employees"), (w.revenue, "revenue")):
        if band is not None and band.min is not None and band.max is not None and band.min > band.max:
            out.append(((*path, label), f"{label}: min is above max"))
    for p in w.postcode or []:
        if "-" in p and not all(x.strip() for x in p.split("-", 1)):
            out.append(((*path, "postcode"), f"postcode range {p!r} needs both ends, like 10000-19999"))
    return out


def _semantic_problems(rs: RuleSet) -> list[tuple[tuple[Any, ...], str]]:
    out = _owner_problems(rs.fallback, ("fallback",), rs.pools)
    if rs.fallback.pool is not None:
        out.append(
            (
                ("fallback",),
                "the fallback must be a user, queue or partner, not a pool (a pool can be unavailable)",
            )
        )
    if rs.fallback.bdr is not None:
        out.append(
            (
                ("fallback",),
                "the fallback must be a user, queue or partner, not the BDR desk (a qualified lead that "
                "no field rule matches would go back to the desk)",
            )
        )
    out += _qualification_problems(rs.qualification)
    seen: set[str] = set()
    for i, rule in enumerate(rs.rules):
        if rule.name in seen:
            out.append((("rules", i, "name"), f"rule name {rule.name!r} is used twice"))
        seen.add(rule.name)
        out += _owner_problems(rule.assign, ("rules", i, "assign"), rs.pools)
        out += _when_problems(rule.when, ("rules", i, "when"))
    for name, pool in rs.pools.items():
        if not pool.members:
            out.append((("pools", name), f"pool {name!r} has no members"))
        for j, m in enumerate(pool.members):
            if m.weight <= 0:
                out.append(
                    (("pools", name, "members", j, "weight"), f"weight must be positive, not {m.weight}")
                )
            for cap in ("daily_cap", "weekly_cap"):
                if (v := getattr(m, cap)) is not None and v < 1:
                    out.append((("pools", name, "members", j, cap), f"{cap} must be at least 1"))
        users = [m.user.lower() for m in pool.members]
        if len(set(users)) != len(users):
            out.append((("pools", name, "members"), f"pool {name!r} lists a member twice"))
    for i, p in enumerate(rs.sla):
        out += _when_problems(p.when, ("sla", i, "when"))
        steps = [
            ("first_touch_minutes", p.first_touch_minutes),
            ("remind_at", p.remind_at),
            ("escalate_at", p.escalate_at),
            ("reassign_at", p.reassign_at),
        ]
        for key, v in steps:
            if v is not None and v <= 0:
                out.append((("sla", i, key), f"{key} must be a positive number of business minutes"))
        if p.remind_at is not None and p.remind_at > p.first_touch_minutes:
            out.append((("sla", i, "remind_at"), "the reminder must come before the first-touch deadline"))
        marks = [v for _, v in steps[1:] if v is not None]
        if marks != sorted(marks):
            out.append((("sla", i), "remind_at, escalate_at and reassign_at must come in that order"))
    return out
