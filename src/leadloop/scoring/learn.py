"""Learn what the rules guess (issue 16, item 4): a fit model from won and lost deals, and the
engagement half-life that ranks history best. Both are judged on the newest deals or questions
held out, beside the model in force, and offered as a draft only where they win.

Pure: deals and questions in, rules and figures out. `suggest.py` loads them and saves the draft.

The fit rules: for each profile field (seniority, department, industry, country, size band), the
win rate of each value with enough deals, shrunk toward the overall rate (m = 10 deals of prior),
becomes points: 25 per doubling of the odds of winning over the average deal, from -25 to +40.
Values that convert no differently get no rule. The grades cut where the learned scores of the
deals learned from split into quarters. Exclusions of the model in force are kept as they are.

The half-life: engagement recomputed at each question's moment with each candidate half-life,
ranked by ROC AUC against the questions' answers."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from leadloop.scoring.document import Fit, FitRule, ScoringModel, rule_refs
from leadloop.scoring.fit import GRADE_ORDER, evaluate_fit

PRIOR = 10.0  # deals of prior toward the overall win rate
MIN_VALUE = 10  # deals with a value before it can get points
MIN_DEALS = 40  # closed deals, with both outcomes, before a fit model is learned
MIN_POINTS = 5
HALF_LIVES = (7.0, 14.0, 21.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0)
MARGIN = 0.01  # ROC AUC a suggestion must add on held-out history to be offered
CATEGORICAL = (
    ("person.seniority", "seniority"),
    ("person.department", "department"),
    ("account.industry", "industry"),
    ("account.country", "country"),
)
SIZE_BANDS = ((1, 49), (50, 199), (200, 999), (1000, 4999), (5000, None))


@dataclass(frozen=True)
class Deal:
    won: bool
    at: float  # when it closed (seconds)
    person: Mapping[str, Any]
    account: Mapping[str, Any]


@dataclass
class FitLearned:
    rules: list[FitRule]
    grades: dict[str, float]
    auc_learned: float | None  # on the held-out newest deals
    auc_current: float | None
    train: int
    held_out: int
    # grade -> (deals, won) on the held-out deals, for the model in force and the learned one
    by_grade_current: dict[str, tuple[int, int]] = field(default_factory=dict)
    by_grade_learned: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def better(self) -> bool:
        return (
            self.auc_learned is not None
            and self.auc_current is not None
            and self.auc_learned >= self.auc_current + MARGIN
        )


@dataclass
class HalfLifeLearned:
    current: float
    aucs: dict[float, float]  # candidate half-life -> ROC AUC of engagement on the answered questions
    questions: int

    @property
    def best(self) -> float:
        return max(self.aucs, key=lambda h: (self.aucs[h], -abs(h - self.current)))

    @property
    def better(self) -> bool:
        now = self.aucs.get(self.current)
        return now is not None and self.aucs[self.best] >= now + MARGIN


def auc(y: Sequence[int], score: Sequence[float]) -> float | None:
    return float(roc_auc_score(y, score)) if len(set(y)) == 2 else None


def _value(deal: Deal, name: str) -> Any:
    scope, _, attr = name.partition(".")
    return (deal.person if scope == "person" else deal.account).get(attr)


def _band(employees: Any) -> tuple[int, int | None] | None:
    try:
        n = float(employees)
    except (TypeError, ValueError):
        return None
    for lo, hi in SIZE_BANDS:
        if n >= lo and (hi is None or n <= hi):
            return lo, hi
    return None


def _points(won: int, n: int, rate: float) -> int:
    shrunk = (won + PRIOR * rate) / (n + PRIOR)
    odds = shrunk / max(1e-6, 1 - shrunk)
    base = rate / max(1e-6, 1 - rate)
    return int(max(-25, min(40, round(25 * math.log2(max(1e-6, odds / base))))))


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text.casefold()).strip("_")
    return "_".join(p for p in out.split("_") if p)[:40] or "value"


def learn_rules(deals: Sequence[Deal]) -> list[FitRule]:
    """Rules from deals: one per field and points level (values with the same points share one)."""
    rate = sum(d.won for d in deals) / len(deals)
    rules: list[FitRule] = []
    for name, word in CATEGORICAL:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        shown: dict[str, str] = {}
        for d in deals:
            v = _value(d, name)
            if v is None or str(v).strip() == "":
                continue
            key = str(v).strip().casefold()
            shown.setdefault(key, str(v).strip())
            counts[key][0] += 1
            counts[key][1] += int(d.won)
        by_points: dict[int, list[str]] = defaultdict(list)
        for key, (n, won) in counts.items():
            if n >= MIN_VALUE and abs(p := _points(won, n, rate)) >= MIN_POINTS:
                by_points[p].append(shown[key])
        for p, values in sorted(by_points.items(), key=lambda kv: -kv[0]):
            values.sort()
            rules.append(
                FitRule.model_validate(
                    {
                        "id": f"learned_{word}_{_slug(values[0])}",
                        "when": {"field": name, "in": values},
                        "points": p,
                        "reason": f"{word} {', '.join(values[:3])}{'…' if len(values) > 3 else ''} "
                        f"{'wins more' if p > 0 else 'wins less'} often (learned)",
                    }
                )
            )
    sizes: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0, 0])
    for d in deals:
        band = _band(_value(d, "account.employees"))
        if band is not None:
            sizes[band][0] += 1
            sizes[band][1] += int(d.won)
    for (lo, hi), (n, won) in sorted(sizes.items()):
        p = _points(won, n, rate)
        if n >= MIN_VALUE and abs(p) >= MIN_POINTS:
            when: dict[str, Any] = {"field": "account.employees", "gte": lo}
            if hi is not None:
                when["lte"] = hi
            words = f"{lo:,}–{hi:,}" if hi is not None else f"{lo:,}+"
            rules.append(
                FitRule.model_validate(
                    {
                        "id": f"learned_size_{lo}",
                        "when": when,
                        "points": p,
                        "reason": f"{words} employees {'wins more' if p > 0 else 'wins less'} often (learned)",
                    }
                )
            )
    return _unique_ids(rules)


def _unique_ids(rules: list[FitRule]) -> list[FitRule]:
    seen: set[str] = set()
    out = []
    for r in rules:
        rid, i = r.id, 2
        while rid in seen:
            rid, i = f"{r.id[:55]}_{i}", i + 1
        seen.add(rid)
        out.append(r if rid == r.id else r.model_copy(update={"id": rid}))
    return out


def with_fit(current: ScoringModel, rules: list[FitRule], grades: Mapping[str, float]) -> ScoringModel:
    """The model in force with learned rules in place of its point rules; its exclusions kept (with
    any rule they refer to)."""
    exclusions = [r for r in current.fit.rules if r.exclude]
    needed = set().union(*(rule_refs(r.when) for r in exclusions)) if exclusions else set()
    kept = [r for r in current.fit.rules if r.id in needed and not r.exclude]
    taken = {r.id for r in exclusions} | {r.id for r in kept}
    learned = [r for r in rules if r.id not in taken]
    fit = Fit(rules=[*learned, *kept, *exclusions], grades=dict(grades))  # type: ignore[arg-type]
    return current.model_copy(update={"fit": fit})


def _grades(scores: Sequence[float]) -> dict[str, float]:
    """A, B, C at the upper quartile, the median and the lower quartile of the learned scores, each
    at least one point above the next so that every grade can occur."""
    q75, q50, q25 = (float(np.percentile(scores, q)) for q in (75, 50, 25))
    c = max(1.0, round(q25, 1))
    b = max(c + 1, round(q50, 1))
    a = max(b + 1, round(q75, 1))
    return {"A": a, "B": b, "C": c}


def _by_grade(model: ScoringModel, deals: Sequence[Deal]) -> dict[str, tuple[int, int]]:
    out = {g: [0, 0] for g in GRADE_ORDER}
    for d in deals:
        g = evaluate_fit(model, d.person, d.account).grade
        out[g][0] += 1
        out[g][1] += int(d.won)
    return {g: (n, w) for g, (n, w) in out.items()}


def learn_fit(deals: Sequence[Deal], current: ScoringModel) -> FitLearned | str:
    """Learn on the older three quarters of the closed deals, judge on the newest quarter; or say
    why nothing can be learned."""
    ordered = sorted(deals, key=lambda d: d.at)
    won = sum(d.won for d in ordered)
    if len(ordered) < MIN_DEALS or won == 0 or won == len(ordered):
        return (
            f"learning a fit model needs at least {MIN_DEALS} closed deals, won and lost; "
            f"there are {len(ordered)} ({won} won)"
        )
    cut = len(ordered) - max(10, len(ordered) // 4)
    older, newer = ordered[:cut], ordered[cut:]
    rules = learn_rules(older)
    trial = with_fit(current, rules, {"A": 75.0, "B": 50.0, "C": 25.0})
    score: Callable[[ScoringModel, Deal], float] = lambda m, d: evaluate_fit(m, d.person, d.account).score  # noqa: E731
    grades = _grades([score(trial, d) for d in older])
    learned = with_fit(current, rules, grades)
    y = [int(d.won) for d in newer]
    result = FitLearned(
        rules,
        grades,
        auc(y, [score(learned, d) for d in newer]),
        auc(y, [score(current, d) for d in newer]),
        len(older),
        len(newer),
        _by_grade(current, newer),
        _by_grade(learned, newer),
    )
    # The draft learns from every deal; the figures above are from the held-out quarter.
    final_rules = learn_rules(ordered)
    final = with_fit(current, final_rules, {"A": 75.0, "B": 50.0, "C": 25.0})
    result.rules, result.grades = final_rules, _grades([score(final, d) for d in ordered])
    return result


def engagement_at(ages_days: np.ndarray, weights: np.ndarray, half_life: float) -> float:
    """Σ weight · 0.5^(age / half-life) over the activities before the moment."""
    return float(np.sum(weights * 0.5 ** (ages_days / half_life)))


def learn_half_life(
    questions: Sequence[tuple[int, np.ndarray, np.ndarray]],
    current: float,
    candidates: Sequence[float] = HALF_LIVES,
) -> HalfLifeLearned | str:
    """`questions`: (answer, ages in days of the activities before it, their weights)."""
    y = [q[0] for q in questions]
    if len(set(y)) < 2:
        return "fitting a half-life needs questions with both answers; the history has " + (
            "none" if not y else f"only {'yes' if y[0] else 'no'} answers"
        )
    aucs: dict[float, float] = {}
    for h in sorted({*candidates, current}):
        a = auc(y, [engagement_at(ages, w, h) for _, ages, w in questions])
        if a is not None:
            aucs[h] = a
    return HalfLifeLearned(current, aucs, len(questions))
