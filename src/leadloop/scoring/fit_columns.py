"""Fit for a whole warehouse at once: the same rules as `fit.py`, evaluated over columns (one numpy
array per field) instead of person by person. The what-if preview and a model's activation judge
every person; done one dict at a time that was most of a six-second preview. Pure, and it gives
exactly what `evaluate_fit` gives (score, grade, the first exclusion), which a property test checks;
the per-rule "why" stays with `evaluate_fit`, for the one person a page shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from leadloop.scoring.document import Condition, ScoringModel, rule_order

Bools = npt.NDArray[np.bool_]


def _text(v: Any) -> str:
    return "" if v is None else str(v).casefold().strip()


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


class _Column:
    """One field's values, read once. A column repeats a few values (seniority, country, the
    account's industry for each of its people), so every test is judged once per distinct value
    and spread to the rows through `codes`: a Python step per distinct value, not per person."""

    def __init__(self, values: Sequence[Any]) -> None:
        # 42, 42.0 and True are one key, but "42", "42.0" and "true" as text: a column that mixes
        # types (rare: a database column has one) keys its values by type too.
        keys: Sequence[Any] = values
        if len(set(map(type, values)) - {type(None)}) > 1:
            keys = list(zip(map(type, values), values, strict=True))
        code_of = {k: i for i, k in enumerate(dict.fromkeys(keys))}
        self.codes: npt.NDArray[np.int64] = np.fromiter(map(code_of.__getitem__, keys), np.int64, len(keys))
        self.distinct = list(code_of) if keys is values else [v for _, v in code_of]
        self.text = [_text(v) for v in self.distinct]
        self.present: Bools = np.array([t != "" for t in self.text], dtype=np.bool_)
        self._numbers: npt.NDArray[np.float64] | None = None

    @property
    def numbers(self) -> npt.NDArray[np.float64]:
        if self._numbers is None:
            self._numbers = np.array([_number(v) for v in self.distinct], dtype=np.float64)
        return self._numbers

    def rows(self, of_distinct: Bools) -> Bools:
        """A test judged per distinct value -> the same test per row."""
        out: Bools = of_distinct[self.codes] if len(self.codes) else np.zeros(0, dtype=np.bool_)
        return out


@dataclass(frozen=True)
class FitColumns:
    score: npt.NDArray[np.float64]
    grade: list[str]
    excluded_by: list[str | None]


def fit_columns(model: ScoringModel, columns: Mapping[str, Sequence[Any]], n: int) -> FitColumns:
    """`columns`: "person.title" / "account.employees" ... -> n values (None where unknown)."""
    cache: dict[str, _Column] = {}

    def column(name: str) -> _Column:
        if name not in cache:
            cache[name] = _Column(columns.get(name) or [None] * n)
        return cache[name]

    outcomes: dict[str, Bools] = {}
    score = np.zeros(n, dtype=np.float64)
    excluded = np.full(n, -1, dtype=np.int64)
    rules = rule_order(model.fit.rules)
    for i, rule in enumerate(rules):
        hit = _eval(rule.when, column, outcomes, n)
        outcomes[rule.id] = hit
        if rule.exclude:
            excluded[(excluded < 0) & hit] = i
        elif rule.points:
            score = score + np.where(hit, rule.points, 0.0)
    score = np.where(excluded >= 0, 0.0, np.clip(score, 0.0, 100.0))
    g = model.fit.grades
    grades = np.select(
        [score >= g.get("A", 75), score >= g.get("B", 50), score >= g.get("C", 25)], ["A", "B", "C"], "D"
    )
    names = [r.id for r in rules]
    return FitColumns(score, grades.tolist(), [names[k] if k >= 0 else None for k in excluded.tolist()])


def _eval(c: Condition, column: Any, outcomes: dict[str, Bools], n: int) -> Bools:
    if c.all is not None:
        out = np.ones(n, dtype=np.bool_)
        for sub in c.all:
            out &= _eval(sub, column, outcomes, n)
        return out
    if c.any is not None:
        out = np.zeros(n, dtype=np.bool_)
        for sub in c.any:
            out |= _eval(sub, column, outcomes, n)
        return out
    if c.rule is not None:
        return outcomes.get(c.rule, np.zeros(n, dtype=np.bool_))
    assert c.field is not None
    col: _Column = column(c.field)
    return col.rows(_leaf(c, col))


def _leaf(c: Condition, col: _Column) -> Bools:
    """A field test, judged once per distinct value of the column."""
    if c.exists is not None:
        return col.present if c.exists else ~col.present
    if c.equals is not None:
        if isinstance(c.equals, float | int) and not np.isnan(_number(c.equals)):
            same: Bools = col.present & (col.numbers == _number(c.equals))
            return same
        want = _text(c.equals)
        return col.present & _each(t == want for t in col.text)
    if c.in_ is not None:
        allowed = frozenset(_text(x) for x in c.in_)
        return col.present & _each(t in allowed for t in col.text)
    if c.contains is not None:
        needles = [_text(x) for x in ([c.contains] if isinstance(c.contains, str) else c.contains)]
        return col.present & _each(any(x in t for x in needles) for t in col.text)
    nums = col.numbers
    out = col.present & ~np.isnan(nums)
    if c.gte is not None:
        out &= nums >= c.gte
    if c.lte is not None:
        out &= nums <= c.lte
    return out


def _each(tests: Iterable[bool]) -> Bools:
    return np.fromiter(tests, np.bool_)
