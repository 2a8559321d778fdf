"""Fit (explicit) scoring: profile rules on person and account fields -> 0-100, grade A-D, and why.

Pure: takes the model and plain field maps; returns the decision with its explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    return compiled(model)(person, account)


Test = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, bool]], bool]


def _compile(c: Condition) -> Test:
    """A condition as a closure with its constants folded once: `matches`, without re-reading the
    model for every person (a preview scores every person in the warehouse)."""
    if c.all is not None:
        subs = [_compile(x) for x in c.all]
        return lambda p, a, o: all(f(p, a, o) for f in subs)
    if c.any is not None:
        subs = [_compile(x) for x in c.any]
        return lambda p, a, o: any(f(p, a, o) for f in subs)
    if c.rule is not None:
        rid = c.rule
        return lambda p, a, o: o.get(rid, False)
    assert c.field is not None
    scope, _, attr = c.field.partition(".")
    of_person = scope == "person"
    test: Callable[[Any], bool]
    if c.exists is not None:
        want = c.exists

        def exists(p: Mapping[str, Any], a: Mapping[str, Any], o: Mapping[str, bool]) -> bool:
            v = (p if of_person else a).get(attr)
            return (v is not None and _text(v) != "") == want

        return exists
    if c.equals is not None:
        num = _number(c.equals)
        if isinstance(c.equals, float | int) and num is not None:
            test = lambda v: _number(v) == num  # noqa: E731
        else:
            folded = _text(c.equals)
            test = lambda v: _text(v) == folded  # noqa: E731
    elif c.in_ is not None:
        allowed = frozenset(_text(x) for x in c.in_)
        test = lambda v: _text(v) in allowed  # noqa: E731
    elif c.contains is not None:
        needles = [_text(n) for n in ([c.contains] if isinstance(c.contains, str) else c.contains)]
        test = lambda v: any(n in _text(v) for n in needles)  # noqa: E731
    else:
        gte, lte = c.gte, c.lte

        def test(v: Any) -> bool:
            n = _number(v)
            return n is not None and (gte is None or n >= gte) and (lte is None or n <= lte)

    def field_test(p: Mapping[str, Any], a: Mapping[str, Any], o: Mapping[str, bool]) -> bool:
        v = (p if of_person else a).get(attr)
        return v is not None and _text(v) != "" and test(v)

    return field_test


_COMPILED: dict[int, tuple[ScoringModel, Callable[[Mapping[str, Any], Mapping[str, Any]], FitResult]]] = {}


def compiled(model: ScoringModel) -> Callable[[Mapping[str, Any], Mapping[str, Any]], FitResult]:
    """The model's fit rules as one function of (person, account), built once per model object."""
    hit = _COMPILED.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    rules = [
        (rule, _compile(rule.when), rule.reason or rule.id.replace("_", " "))
        for rule in rule_order(model.fit.rules)
    ]

    def fit(person: Mapping[str, Any], account: Mapping[str, Any]) -> FitResult:
        outcomes: dict[str, bool] = {}
        contributions: list[Contribution] = []
        excluded_by: str | None = None
        for rule, when, reason in rules:
            hit = when(person, account, outcomes)
            outcomes[rule.id] = hit
            if not hit:
                continue
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

    if len(_COMPILED) > 16:  # models are few; a long-running process sees a handful of versions
        _COMPILED.clear()
    _COMPILED[id(model)] = (model, fit)
    return fit
