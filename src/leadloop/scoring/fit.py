"""Fit (explicit) scoring: profile rules on person and account fields -> 0-100, grade A-D, and why.

Pure: takes the model and plain field maps; returns the decision with its explanation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leadloop.scoring.document import Condition, ScoringModel, rule_order


@dataclass(frozen=True, slots=True)
class Contribution:
    rule: str
    points: float
    reason: str


@dataclass(frozen=True)
class FitResult:
    score: float
    grade: str
    excluded_by: str | None = None
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)

    @property
    def excluded(self) -> bool:
        return self.excluded_by is not None


GRADE_ORDER = ("A", "B", "C", "D")


def _value(name: str, person: Mapping[str, Any], account: Mapping[str, Any]) -> Any:
    scope, _, attr = name.partition(".")
    return (person if scope == "person" else account).get(attr)


def _text(v: Any) -> str:
    return str(v).casefold().strip()


def _number(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def matches(
    c: Condition, person: Mapping[str, Any], account: Mapping[str, Any], outcomes: Mapping[str, bool]
) -> bool:
    if c.all is not None:
        return all(matches(s, person, account, outcomes) for s in c.all)
    if c.any is not None:
        return any(matches(s, person, account, outcomes) for s in c.any)
    if c.rule is not None:
        return outcomes.get(c.rule, False)
    assert c.field is not None
    v = _value(c.field, person, account)
    present = v is not None and _text(v) != ""
    if c.exists is not None:
        return present == c.exists
    if not present:
        return False
    if c.equals is not None:
        num = _number(c.equals)
        return (
            _number(v) == num
            if isinstance(c.equals, float | int) and num is not None
            else _text(v) == _text(c.equals)
        )
    if c.in_ is not None:
        return _text(v) in {_text(x) for x in c.in_}
    if c.contains is not None:
        needles = [c.contains] if isinstance(c.contains, str) else c.contains
        return any(_text(n) in _text(v) for n in needles)
    n = _number(v)
    if n is None:
        return False
    return (c.gte is None or n >= c.gte) and (c.lte is None or n <= c.lte)


def grade_for(score: float, model: ScoringModel) -> str:
    g = model.fit.grades
    if score >= g.get("A", 75):
        return "A"
    if score >= g.get("B", 50):
        return "B"
    if score >= g.get("C", 25):
        return "C"
    return "D"


def evaluate_fit(model: ScoringModel, person: Mapping[str, Any], account: Mapping[str, Any]) -> FitResult:
    outcomes: dict[str, bool] = {}
    contributions: list[Contribution] = []
    excluded_by: str | None = None
    for rule in rule_order(model.fit.rules):
        hit = matches(rule.when, person, account, outcomes)
        outcomes[rule.id] = hit
        if not hit:
            continue
        reason = rule.reason or rule.id.replace("_", " ")
        if rule.exclude and excluded_by is None:
            excluded_by = rule.id
            contributions.append(Contribution(rule.id, 0.0, f"excluded: {reason}"))
        elif rule.points:
            contributions.append(Contribution(rule.id, rule.points, reason))
    if excluded_by is not None:
        # The exclusion is the answer to "why"; what else matched follows it.
        first = [c for c in contributions if c.rule == excluded_by]
        return FitResult(
            0.0, "D", excluded_by, tuple(first + [c for c in contributions if c.rule != excluded_by])
        )
    score = max(0.0, min(100.0, sum(c.points for c in contributions)))
    ranked = tuple(sorted(contributions, key=lambda c: -abs(c.points)))
    return FitResult(score, grade_for(score, model), None, ranked)
