"""A segment's definition: conditions over a person's profile, their account's firmographics, their
scores, their account's leads, their consent and their behaviour, joined with all/any/not.

Pure. `parse_definition` turns the stored document (a mapping, from the builder or from YAML/JSON
text) into typed conditions or a `DefinitionError` naming every problem and where it is;
`evaluate` decides one person from plain facts, `now` and the engagement decay rate passed in. The
SQL in `compile.py` must agree with `evaluate` on every person (a hypothesis test checks it), so
each rule's edge cases are decided here once:

- a missing value is never equal, greater or contained; it *is* "not equal" and "not in"
  (a person with no country is "not in DE");
- text compares ignore the case of the letters A to Z (SQLite's lower() folds only those);
- engagement decays: "engagement >= X at time t" is "ln S + λ·t0 >= ln X + λ·t", a comparison of
  the stored ranking key with a threshold computed once per query (DESIGN.md, decay);
- behaviour counts the person's activities of the given types, in the last `within_days` days
  when given (from now minus the days on, nothing excluded after now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadloop.lifecycle.model import Stage

SCHEMA = 1
MAX_CONDITIONS = 50
MAX_NESTING = 6
MAX_VALUES = 200
MAX_TEXT = 200
MAX_DAYS = 3650
MAX_COUNT = 100_000

# Kinds of field: which operators apply, and what a value must be.
TEXT, NUMBER, GRADE, DATE, ENGAGEMENT, CONSENT = "text", "number", "grade", "date", "engagement", "consent"
OPS: dict[str, tuple[str, ...]] = {
    TEXT: ("=", "!=", "in", "not_in", "contains", "not_contains", "starts_with", "is_set", "is_not_set"),
    NUMBER: ("=", "!=", ">", ">=", "<", "<=", "between", "is_set", "is_not_set"),
    GRADE: ("in", "not_in", "at_least", "is_set", "is_not_set"),
    DATE: ("before", "since", "in_last_days", "more_than_days_ago"),
    ENGAGEMENT: (">=", ">", "<", "<="),
    CONSENT: ("is", "is_not"),
}
NO_VALUE = frozenset({"is_set", "is_not_set"})
LIST_OPS = frozenset({"in", "not_in"})
DAY_OPS = frozenset({"in_last_days", "more_than_days_ago"})
# Consent as the segment sees it: people.email_opt_in today (True, False or unknown). SEAM: the
# consent capability (issue 14, item 4) replaces this with its per-type state; only this mapping,
# `compile._consent` and the field list below change.
CONSENT_VALUES: dict[str, bool | None] = {"opted_in": True, "opted_out": False, "unknown": None}
OP_WORDS = {
    "=": "is",
    "!=": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "is_set": "is set",
    "is_not_set": "is not set",
    ">": ">",
    ">=": "≥",
    "<": "<",
    "<=": "≤",
    "between": "is between",
    "at_least": "is at least",
    "before": "is before",
    "since": "is on or after",
    "in_last_days": "is in the last (days)",
    "more_than_days_ago": "is more than (days) ago",
    "is": "is",
    "is_not": "is not",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    group: str
    kind: str


def _f(name: str, label: str, group: str, kind: str = TEXT) -> tuple[str, FieldSpec]:
    return name, FieldSpec(name, label, group, kind)


FIELDS: dict[str, FieldSpec] = dict(
    [
        _f("person.title", "Job title", "Profile"),
        _f("person.seniority", "Seniority", "Profile"),
        _f("person.department", "Department", "Profile"),
        _f("person.country", "Country", "Profile"),
        _f("person.state", "State", "Profile"),
        _f("person.city", "City", "Profile"),
        _f("person.email", "E-mail", "Profile"),
        _f("person.email_kind", "E-mail kind (corporate, free, disposable)", "Profile"),
        _f("person.company", "Company (as given)", "Profile"),
        _f("person.lead_source", "Lead source", "Profile"),
        _f("person.created_at", "Created", "Profile", DATE),
        _f("account.name", "Account name", "Firmographics"),
        _f("account.domain", "Account domain", "Firmographics"),
        _f("account.industry", "Industry", "Firmographics"),
        _f("account.employees", "Employees", "Firmographics", NUMBER),
        _f("account.annual_revenue", "Annual revenue", "Firmographics", NUMBER),
        _f("account.country", "Account country", "Firmographics"),
        _f("account.state", "Account state", "Firmographics"),
        _f("account.city", "Account city", "Firmographics"),
        _f("account.sic_code", "SIC code", "Firmographics"),
        _f("account.naics_code", "NAICS code", "Firmographics"),
        _f("account.sites", "Sites", "Firmographics", NUMBER),
        _f("fit", "Fit score (0–100)", "Scores", NUMBER),
        _f("grade", "Grade (A best)", "Scores", GRADE),
        _f("engagement", "Engagement (decays)", "Scores", ENGAGEMENT),
        _f("consent.email", "E-mail consent", "Consent", CONSENT),
    ]
)
STAGES = tuple(s.value for s in Stage if s is not Stage.MERGED)
OWNER_KINDS = ("user", "queue", "partner")


# The conditions, typed.


@dataclass(frozen=True)
class Compare:
    """A field compared with a value: `value` is None (is_set), a str, a float, an int (days), a
    datetime (before/since), a tuple of str (in) or a (low, high) pair (between)."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class HasLead:
    """The person's account has a lead (not merged away) with one of these stages, owners and
    products; an empty tuple allows any."""

    stages: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class Did:
    """The person did one of `types` between `at_least` and `at_most` times (None: no upper bound),
    in the last `within_days` days (None: ever), on a URL containing `url_contains` when given."""

    types: tuple[str, ...]
    at_least: int = 1
    at_most: int | None = None
    within_days: int | None = None
    url_contains: str | None = None


@dataclass(frozen=True)
class All:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


Cond = Compare | HasLead | Did | All | AnyOf | Not


@dataclass(frozen=True)
class Definition:
    match: Cond
    schema: int = SCHEMA

    def document(self) -> dict[str, Any]:
        """The canonical stored form: parse_definition(d.document()) == d."""
        return {"schema": self.schema, "match": to_doc(self.match)}

    @property
    def time_dependent(self) -> bool:
        """Whether time passing alone can change who is in (a window, a decaying score, an age):
        such a segment is rebuilt on a timer as well as on events (ADR 0028)."""
        return any(_ticks(c) for c in walk(self.match))

    @property
    def kinds(self) -> frozenset[str]:
        """What the definition reads: which events can change its members."""
        return frozenset(kind_of(c) for c in walk(self.match) if not isinstance(c, All | AnyOf | Not))

    @property
    def uses_accounts(self) -> bool:
        return any(isinstance(c, Compare) and c.field.startswith("account.") for c in walk(self.match))


def walk(c: Cond) -> list[Cond]:
    out: list[Cond] = [c]
    if isinstance(c, All | AnyOf):
        for item in c.items:
            out.extend(walk(item))
    elif isinstance(c, Not):
        out.extend(walk(c.item))
    return out


def kind_of(c: Cond) -> str:
    """profile | firmographics | scores | consent | lead | behaviour."""
    if isinstance(c, HasLead):
        return "lead"
    if isinstance(c, Did):
        return "behaviour"
    if isinstance(c, Compare):
        return FIELDS[c.field].group.lower()
    return "logic"


def _ticks(c: Cond) -> bool:
    if isinstance(c, Did):
        return c.within_days is not None
    if isinstance(c, Compare):
        return FIELDS[c.field].kind == ENGAGEMENT or c.op in DAY_OPS
    return False


def to_doc(c: Cond) -> dict[str, Any]:
    if isinstance(c, All):
        return {"all": [to_doc(i) for i in c.items]}
    if isinstance(c, AnyOf):
        return {"any": [to_doc(i) for i in c.items]}
    if isinstance(c, Not):
        return {"not": to_doc(c.item)}
    if isinstance(c, HasLead):
        lead: dict[str, Any] = {}
        for key, values in (("stage", c.stages), ("owner", c.owners), ("product", c.products)):
            if values:
                lead[key] = list(values)
        return {"lead": lead}
    if isinstance(c, Did):
        did: dict[str, Any] = {
            "did": list(c.types) if len(c.types) > 1 else c.types[0],
            "at_least": c.at_least,
        }
        if c.at_most is not None:
            did["at_most"] = c.at_most
        if c.within_days is not None:
            did["within_days"] = c.within_days
        if c.url_contains is not None:
            did["url_contains"] = c.url_contains
        return did
    out: dict[str, Any] = {"field": c.field, "op": c.op}
    if c.op not in NO_VALUE:
        out["value"] = value_doc(c.value)
    return out


def value_doc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, tuple):
        return [value_doc(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def number_text(x: float) -> str:
    return str(int(x)) if x.is_integer() else str(x)


# Words: a definition as a sentence for the lists and the page.


def describe(c: Cond) -> str:
    if isinstance(c, All):
        return " and ".join(_wrap(i) for i in c.items)
    if isinstance(c, AnyOf):
        return " or ".join(_wrap(i) for i in c.items)
    if isinstance(c, Not):
        inner = c.item
        if isinstance(inner, Did) and inner.at_least == 1 and inner.at_most is None:
            return describe(Did(inner.types, 0, 0, inner.within_days, inner.url_contains))
        return f"not ({describe(c.item)})"
    if isinstance(c, HasLead):
        parts = [
            f"{label} {' or '.join(values)}"
            for label, values in (("stage", c.stages), ("owner", c.owners), ("product", c.products))
            if values
        ]
        return "has a lead" + (" with " + ", ".join(parts) if parts else "")
    if isinstance(c, Did):
        what = " or ".join(t.replace("_", " ") for t in c.types)
        if c.at_most == 0:
            text = f"never did {what}"
        elif c.at_most is None:
            text = f"did {what} at least {c.at_least} time{'' if c.at_least == 1 else 's'}"
        else:
            text = f"did {what} {c.at_least} to {c.at_most} times"
        if c.url_contains:
            text += f" on a URL containing “{c.url_contains}”"
        if c.within_days:
            text += f" in the last {c.within_days} days"
        return text
    spec = FIELDS[c.field]
    if c.op in NO_VALUE:
        return f"{spec.label} {OP_WORDS[c.op]}"
    value = c.value
    if isinstance(value, tuple):
        shown = (
            " and ".join(number_text(v) for v in value) if c.op == "between" else ", ".join(map(str, value))
        )
    elif isinstance(value, float):
        shown = number_text(value)
    elif isinstance(value, datetime):
        shown = value_doc(value)
    elif c.op in DAY_OPS:
        shown = f"{value} days"
        return f"{spec.label} {'in the last' if c.op == 'in_last_days' else 'more than'} {shown}" + (
            " ago" if c.op == "more_than_days_ago" else ""
        )
    else:
        shown = str(value).replace("_", " ")
    return f"{spec.label} {OP_WORDS[c.op]} {shown}"


def _wrap(c: Cond) -> str:
    return f"({describe(c)})" if isinstance(c, All | AnyOf) else describe(c)
