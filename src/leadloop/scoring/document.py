"""A scoring model is a document: YAML in and out, validated before it can ever be activated.

Every error names the line of the YAML it is about, so that a marketer editing the file (or the
admin page) can find it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from leadloop.contract.vocab import ACTIVITY_TYPES, DEFAULT_HAND_RAISE_TYPES, DEFAULT_URL_RULES, MACHINE_TYPES
from leadloop.core.yamldoc import DocumentError, line_of, parse_document

PERSON_FIELDS = (
    "title",
    "seniority",
    "department",
    "country",
    "state",
    "email_kind",
    "lead_source",
    "company",
)
ACCOUNT_FIELDS = (
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "state",
    "sic_code",
    "naics_code",
    "sites",
    "domain",
)
FIELDS = tuple(f"person.{f}" for f in PERSON_FIELDS) + tuple(f"account.{f}" for f in ACCOUNT_FIELDS)


class ModelDocumentError(DocumentError):
    """A scoring model that cannot be used, with every problem and its line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test. `field` tests a person or account field; `rule` tests another rule's outcome;
    `all` / `any` combine."""

    field: str | None = None
    rule: str | None = None
    equals: str | float | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    contains: list[str] | str | None = None
    gte: float | None = None
    lte: float | None = None
    exists: bool | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None


class FitRule(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
    when: Condition
    points: float = 0
    exclude: bool = False
    reason: str | None = None


Grade = Literal["A", "B", "C"]


def _default_grades() -> dict[Grade, float]:
    return {"A": 75.0, "B": 50.0, "C": 25.0}


class Fit(_Strict):
    rules: list[FitRule] = Field(default_factory=list)
    grades: dict[Grade, float] = Field(default_factory=_default_grades)


class Engagement(_Strict):
    half_life_days: float = 30.0
    weights: dict[str, float] = Field(default_factory=dict)
    per_product: dict[str, dict[str, float]] = Field(default_factory=dict)
    caps_per_day: dict[str, int] = Field(default_factory=dict)
    lead_open_threshold: float = 20.0
    mql_threshold: float = 60.0


class Cluster(_Strict):
    """A hand-raise made of many small signals: `count` activities of `type` on one account within
    `within_days` (three pricing page views in 14 days). The activity that makes the count is the
    hand-raise; no single one of them is."""

    type: str
    count: int
    within_days: float


class HandRaise(_Strict):
    """Activities that mean "talk to me": the lead becomes an MQL and goes to sales at once with the
    fastest SLA tier, whatever its engagement or fit (an excluded contact still is not sent). Only a
    fresh one counts: an import of last year's demo requests scores as history, it pages nobody.
    `clusters` add the hand-raises that are a pattern rather than one activity."""

    types: list[str] = Field(default_factory=lambda: list(DEFAULT_HAND_RAISE_TYPES))
    fresh_for_days: float = 7.0
    clusters: Annotated[list[Cluster], Field(max_length=20)] = Field(default_factory=list)


class UrlRule(_Strict):
    """A tracked page whose path matches `pattern` (shell-style: `/pricing*`, `/docs/*`) is an
    activity of `type`; the first rule that matches wins, and an unmatched page is a page_view."""

    pattern: Annotated[str, Field(min_length=1, max_length=200)]
    type: str


class ScoringModel(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    version: int = 1
    description: str | None = None
    fit: Fit = Field(default_factory=Fit)
    engagement: Engagement = Field(default_factory=Engagement)
    # Lead-level MQL also needs fit: an excluded or D-grade account never becomes an MQL.
    mql_min_grade: Literal["A", "B", "C", "D"] = "C"
    hand_raise: HandRaise = Field(default_factory=HandRaise)
    url_rules: Annotated[list[UrlRule], Field(max_length=100)] = Field(
        default_factory=lambda: [UrlRule(pattern=p, type=t) for p, t in DEFAULT_URL_RULES]
    )

    def url_rule_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((r.pattern, r.type) for r in self.url_rules)

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def parse_model(text: str) -> ScoringModel:
    """YAML text -> a valid ScoringModel, or ModelDocumentError listing every problem with its line."""
    model, root = parse_document(text, ScoringModel, what="a scoring model", error=ModelDocumentError)
    semantic = _semantic_problems(model)
    if semantic:
        raise ModelDocumentError([(line_of(root, path), msg) for path, msg in semantic])
    return model


def _semantic_problems(model: ScoringModel) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    e = model.engagement
    if not e.half_life_days > 0:
        out.append(
            (("engagement", "half_life_days"), f"half_life_days must be positive, not {e.half_life_days}")
        )
    if e.lead_open_threshold <= 0 or e.mql_threshold < e.lead_open_threshold:
        out.append((("engagement", "mql_threshold"), "need 0 < lead_open_threshold <= mql_threshold"))
    known = ", ".join(sorted(ACTIVITY_TYPES))
    for t in e.weights:
        if t not in ACTIVITY_TYPES:
            out.append((("engagement", "weights", t), f"unknown activity type {t!r}; known types: {known}"))
    for product, table in e.per_product.items():
        for t in table:
            if t not in ACTIVITY_TYPES:
                out.append((("engagement", "per_product", product, t), f"unknown activity type {t!r}"))
    for t, cap in e.caps_per_day.items():
        if t not in ACTIVITY_TYPES:
            out.append((("engagement", "caps_per_day", t), f"unknown activity type {t!r}"))
        if cap < 1:
            out.append((("engagement", "caps_per_day", t), f"a cap must be at least 1, not {cap}"))
    for i, t in enumerate(model.hand_raise.types):
        if t not in ACTIVITY_TYPES:
            out.append((("hand_raise", "types", i), f"unknown activity type {t!r}; known types: {known}"))
    if len(set(model.hand_raise.types)) != len(model.hand_raise.types):
        out.append((("hand_raise", "types"), "an activity type is listed twice"))
    if not model.hand_raise.fresh_for_days > 0:
        out.append(
            (
                ("hand_raise", "fresh_for_days"),
                f"fresh_for_days must be positive, not {model.hand_raise.fresh_for_days}",
            )
        )
    out.extend(_cluster_problems(model.hand_raise, known))
    out.extend(_machine_problems(model))
    seen: set[str] = set()
    for i, url in enumerate(model.url_rules):
        if url.type not in ACTIVITY_TYPES:
            out.append(
                (("url_rules", i, "type"), f"unknown activity type {url.type!r}; known types: {known}")
            )
        if not url.pattern.startswith(("/", "*")):
            out.append(
                (("url_rules", i, "pattern"), f"a pattern is a path such as /pricing*, not {url.pattern!r}")
            )
        if url.pattern in seen:
            out.append((("url_rules", i, "pattern"), f"the pattern {url.pattern!r} is listed twice"))
        seen.add(url.pattern)
    grades = model.fit.grades
    if not grades.get("A", 75) > grades.get("B", 50) > grades.get("C", 25):
        out.append((("fit", "grades"), "grade thresholds must fall from A to C"))
    ids: dict[str, int] = {}
    for i, rule in enumerate(model.fit.rules):
        if rule.id in ids:
            out.append((("fit", "rules", i, "id"), f"rule id {rule.id!r} is used twice"))
        ids[rule.id] = i
    for i, rule in enumerate(model.fit.rules):
        for path, problem in _condition_problems(rule.when, ("fit", "rules", i, "when"), ids):
            out.append((path, f"rule {rule.id!r}: {problem}"))
    cycle = _find_cycle(model.fit.rules)
    if cycle:
        out.append(
            (("fit", "rules", ids[cycle[0]]), "rules refer to each other in a cycle: " + " -> ".join(cycle))
        )
    return out


def _machine_problems(model: ScoringModel) -> list[tuple[tuple[Any, ...], str]]:
    """A privacy proxy's or a link scanner's hit is recorded, never engagement (ADR 0032)."""
    e = model.engagement
    places: list[tuple[tuple[Any, ...], str]] = [(("engagement", "weights", t), t) for t in e.weights]
    places += [(("engagement", "per_product", p, t), t) for p, table in e.per_product.items() for t in table]
    places += [(("hand_raise", "types", i), t) for i, t in enumerate(model.hand_raise.types)]
    places += [
        (("hand_raise", "clusters", i, "type"), c.type) for i, c in enumerate(model.hand_raise.clusters)
    ]
    return [
        (
            path,
            f"{t} is a machine's hit (a privacy proxy or a link scanner): it is recorded, never scored;"
            f" weigh {MACHINE_TYPES[t]} instead",
        )
        for path, t in places
        if t in MACHINE_TYPES
    ]


def _cluster_problems(hand: HandRaise, known: str) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    seen: set[str] = set()
    for i, c in enumerate(hand.clusters):
        at = ("hand_raise", "clusters", i)
        if c.type not in ACTIVITY_TYPES:
            out.append(((*at, "type"), f"unknown activity type {c.type!r}; known types: {known}"))
        elif c.type in hand.types:
            out.append(
                (
                    (*at, "type"),
                    f"{c.type} is a hand-raise on its own (hand_raise.types); a cluster adds nothing",
                )
            )
        elif c.type in seen:
            out.append(((*at, "type"), f"a cluster of {c.type} is listed twice; keep one"))
        seen.add(c.type)
        if c.count < 2:
            out.append(
                (
                    (*at, "count"),
                    f"a cluster needs a count of at least 2, not {c.count}; for one activity, list its type"
                    " in hand_raise.types",
                )
            )
        if not c.within_days > 0:
            out.append(((*at, "within_days"), f"within_days must be positive, not {c.within_days:g}"))
    return out


def _condition_problems(
    c: Condition, path: tuple[Any, ...], ids: dict[str, int]
) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    kinds = sum(x is not None for x in (c.field, c.rule, c.all, c.any))
    if kinds != 1:
        out.append((path, "a condition needs exactly one of field, rule, all, any"))
    if c.field is not None and c.field not in FIELDS:
        out.append(((*path, "field"), f"unknown field {c.field!r}; fields: {', '.join(FIELDS)}"))
    if c.rule is not None and c.rule not in ids:
        out.append(((*path, "rule"), f"no rule with id {c.rule!r}"))
    if c.field is not None and all(x is None for x in (c.equals, c.in_, c.contains, c.gte, c.lte, c.exists)):
        out.append((path, f"a test of {c.field} needs one of equals, in, contains, gte, lte, exists"))
    for key in ("all", "any"):
        for j, sub in enumerate(getattr(c, key) or []):
            out.extend(_condition_problems(sub, (*path, key, j), ids))
    return out


def rule_refs(c: Condition) -> set[str]:
    refs = {c.rule} if c.rule else set()
    for sub in (c.all or []) + (c.any or []):
        refs |= rule_refs(sub)
    return refs


def _find_cycle(rules: list[FitRule]) -> list[str] | None:
    graph = {r.id: rule_refs(r.when) for r in rules}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt in graph and state.get(nxt) is None and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for rid in graph:
        if state.get(rid) is None and (found := visit(rid)):
            return found
    return None


def rule_order(rules: list[FitRule]) -> list[FitRule]:
    """Rules in dependency order (a rule after the rules it refers to). Assumes no cycle."""
    by_id = {r.id: r for r in rules}
    done: set[str] = set()
    out: list[FitRule] = []

    def place(r: FitRule) -> None:
        if r.id in done:
            return
        done.add(r.id)
        for ref in sorted(rule_refs(r.when)):
            if ref in by_id:
                place(by_id[ref])
        out.append(r)

    for r in rules:
        place(r)
    return out
