"""The meaning of a segment definition, one person at a time: the reference the SQL of compile.py is
held to (a hypothesis test compares them on generated people). Pure: `now` and the decay rate are
passed in."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadloop.lifecycle.model import Stage
from leadloop.scoring.fit import GRADE_ORDER
from leadloop.segments.model import (
    CONSENT,
    CONSENT_VALUES,
    ENGAGEMENT,
    FIELDS,
    GRADE,
    NUMBER,
    TEXT,
    All,
    AnyOf,
    Compare,
    Cond,
    Did,
    HasLead,
    Not,
)

# The pure evaluator: the meaning of a definition, one person at a time.


@dataclass(frozen=True)
class LeadFact:
    stage: str
    owner: str  # "user:3" | "queue:1" | "partner:2"
    product: str


@dataclass(frozen=True)
class ActivityFact:
    type: str
    at: datetime
    url: str | None = None


@dataclass(frozen=True)
class Facts:
    """One person as a segment sees them: `values` by field name (person.*, account.*, fit, grade,
    consent.email as True/False/None, and engagement_key, the stored ln S + λ·t0)."""

    values: Mapping[str, Any]
    leads: tuple[LeadFact, ...] = ()
    activities: tuple[ActivityFact, ...] = ()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """Lower-case A to Z only: what SQLite's lower() does, so both sides of the comparison agree."""
    return text.translate(_ASCII_LOWER)


def engagement_threshold(value: float, now: datetime, rate: float) -> float:
    """The ranking key that an engagement of exactly `value` has at `now` (decay.py)."""
    return math.log(value) + rate * now.timestamp()


def since(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def grades_at_least(grade: str) -> tuple[str, ...]:
    return GRADE_ORDER[: GRADE_ORDER.index(grade) + 1]


def evaluate(c: Cond, facts: Facts, *, now: datetime, rate: float) -> bool:
    if isinstance(c, All):
        return all(evaluate(i, facts, now=now, rate=rate) for i in c.items)
    if isinstance(c, AnyOf):
        return any(evaluate(i, facts, now=now, rate=rate) for i in c.items)
    if isinstance(c, Not):
        return not evaluate(c.item, facts, now=now, rate=rate)
    if isinstance(c, HasLead):
        return any(
            (not c.stages or lead.stage in c.stages)
            and (not c.owners or lead.owner in c.owners)
            and (not c.products or lead.product in c.products)
            for lead in facts.leads
            if lead.stage != Stage.MERGED.value
        )
    if isinstance(c, Did):
        start = since(now, c.within_days) if c.within_days is not None else None
        needle = fold(c.url_contains) if c.url_contains is not None else None
        n = sum(
            1
            for a in facts.activities
            if a.type in c.types
            and (start is None or a.at >= start)
            and (needle is None or (a.url is not None and needle in fold(a.url)))
        )
        return n >= c.at_least and (c.at_most is None or n <= c.at_most)
    return _test(c, facts, now=now, rate=rate)


def _test(c: Compare, facts: Facts, *, now: datetime, rate: float) -> bool:
    kind = FIELDS[c.field].kind
    if kind == ENGAGEMENT:
        key = float(facts.values.get("engagement_key", -1.0e300))
        threshold = engagement_threshold(float(c.value), now, rate)
        return {">=": key >= threshold, ">": key > threshold, "<": key < threshold, "<=": key <= threshold}[
            c.op
        ]
    value = facts.values.get(c.field)
    if kind == CONSENT:
        same = value is CONSENT_VALUES[c.value] if value is None else value == CONSENT_VALUES[c.value]
        return same if c.op == "is" else not same
    if c.op == "is_set":
        return value is not None and value != ""
    if c.op == "is_not_set":
        return value is None or value == ""
    if kind == TEXT:
        return _text_test(c.op, c.value, value)
    if kind == NUMBER:
        return _number_test(c.op, c.value, value)
    if kind == GRADE:
        allowed = grades_at_least(c.value) if c.op == "at_least" else c.value
        inside = value is not None and value in allowed
        return not inside if c.op == "not_in" else inside
    return _date_test(c.op, c.value, value, now)


def _text_test(op: str, wanted: Any, value: Any) -> bool:
    have = fold(str(value)) if value is not None else None
    if op in ("=", "!="):
        same = have is not None and have == fold(wanted)
        return same if op == "=" else not same
    if op in ("in", "not_in"):
        inside = have is not None and have in {fold(w) for w in wanted}
        return inside if op == "in" else not inside
    if op in ("contains", "not_contains"):
        found = have is not None and fold(wanted) in have
        return found if op == "contains" else not found
    return have is not None and have.startswith(fold(wanted))  # starts_with


def _number_test(op: str, wanted: Any, value: Any) -> bool:
    if op == "!=":
        return value is None or float(value) != wanted
    if value is None:
        return False
    x = float(value)
    if op == "between":
        return bool(wanted[0] <= x <= wanted[1])
    found: bool = {"=": x == wanted, ">": x > wanted, ">=": x >= wanted, "<": x < wanted, "<=": x <= wanted}[
        op
    ]
    return found


def _date_test(op: str, wanted: Any, value: Any, now: datetime) -> bool:
    if value is None:
        return False
    if op == "before":
        return bool(value < wanted)
    if op == "since":
        return bool(value >= wanted)
    if op == "in_last_days":
        return bool(value >= since(now, wanted))
    return bool(value < since(now, wanted))  # more_than_days_ago
