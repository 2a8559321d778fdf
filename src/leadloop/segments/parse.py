"""Reading a segment definition document into typed conditions (model.py), strictly: every problem
is collected with where it is (a path into the document), so the builder can mark the row and the
document editor the line. Pure."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from leadloop.contract.vocab import ACTIVITY_TYPES
from leadloop.core.errors import InvalidInput
from leadloop.scoring.fit import GRADE_ORDER
from leadloop.segments.model import (
    CONSENT_VALUES,
    DATE,
    DAY_OPS,
    ENGAGEMENT,
    FIELDS,
    GRADE,
    LIST_OPS,
    MAX_CONDITIONS,
    MAX_COUNT,
    MAX_DAYS,
    MAX_NESTING,
    MAX_TEXT,
    MAX_VALUES,
    NO_VALUE,
    NUMBER,
    OPS,
    OWNER_KINDS,
    SCHEMA,
    STAGES,
    TEXT,
    All,
    AnyOf,
    Compare,
    Cond,
    Definition,
    Did,
    FieldSpec,
    HasLead,
    Not,
    number_text,
)


class DefinitionError(InvalidInput):
    """A definition that cannot be saved: every problem, each with where it is (a path into the
    document: ("match", "all", 2, "op")), so the builder marks the row and the editor the line."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{where(p)}: {m}" if p else m for p, m in problems))


def where(path: Sequence[str | int]) -> str:
    """A path as a person reads it: "match.all[2].op"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# Parsing and validation.


@dataclass
class _Parser:
    problems: list[tuple[tuple[str | int, ...], str]] = field(default_factory=list)
    count: int = 0

    def fail(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append((path, message))

    def cond(self, data: Any, path: tuple[str | int, ...], depth: int) -> Cond | None:
        if depth > MAX_NESTING:
            self.fail(path, f"groups nest more than {MAX_NESTING} deep; flatten the all/any/not groups")
            return None
        if not isinstance(data, Mapping):
            self.fail(path, "a condition is a mapping such as {field: fit, op: '>=', value: 60}")
            return None
        keys = set(data)
        for group in ("all", "any"):
            if group in keys:
                return self._group(group, data, path, depth)
        if "not" in keys:
            if keys != {"not"}:
                self.fail(
                    path, f"a `not` holds one condition and nothing beside it; remove {_keys(keys - {'not'})}"
                )
            inner = self.cond(data["not"], (*path, "not"), depth + 1)
            return Not(inner) if inner is not None else None
        self.count += 1
        if self.count > MAX_CONDITIONS:
            if self.count == MAX_CONDITIONS + 1:
                self.fail(path, f"a segment has at most {MAX_CONDITIONS} conditions")
            return None
        if "lead" in keys:
            return self._lead(data, path)
        if "did" in keys:
            return self._did(data, path)
        if "field" in keys:
            return self._test(data, path)
        self.fail(
            path,
            f"unknown condition with {_keys(keys) or 'no keys'}; a condition has `field`, `did` or `lead`,"
            " or groups others under `all`, `any` or `not`",
        )
        return None

    def _group(
        self, group: str, data: Mapping[str, Any], path: tuple[str | int, ...], depth: int
    ) -> Cond | None:
        if set(data) != {group}:
            self.fail(
                path,
                f"`{group}` holds a list of conditions and nothing beside it; remove {_keys(set(data) - {group})}",
            )
        items = data[group]
        if not isinstance(items, list) or not items:
            self.fail((*path, group), f"`{group}` needs a list of at least one condition")
            return None
        parsed = [self.cond(item, (*path, group, i), depth + 1) for i, item in enumerate(items)]
        if any(p is None for p in parsed):
            return None
        kept = tuple(p for p in parsed if p is not None)
        return All(kept) if group == "all" else AnyOf(kept)

    def _test(self, data: Mapping[str, Any], path: tuple[str | int, ...]) -> Cond | None:
        extra = set(data) - {"field", "op", "value"}
        if extra:
            self.fail(path, f"unknown key {_keys(extra)}; a field condition has field, op and value")
        name = data.get("field")
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            self.fail((*path, "field"), _unknown("field", name, FIELDS))
            return None
        op = data.get("op")
        ops = OPS[spec.kind]
        if op not in ops:
            self.fail(
                (*path, "op"),
                f"operator {op!r} does not apply to {spec.name} ({spec.kind}); use one of: {', '.join(ops)}",
            )
            return None
        if op in NO_VALUE:
            if data.get("value") is not None:
                self.fail((*path, "value"), f"`{op}` takes no value; remove it")
            return Compare(spec.name, op)
        if "value" not in data:
            self.fail((*path, "value"), f"{spec.name} {op} needs a value")
            return None
        value = self._value(spec, op, data["value"], (*path, "value"))
        return None if value is None else Compare(spec.name, op, value)

    def _value(self, spec: FieldSpec, op: str, raw: Any, path: tuple[str | int, ...]) -> Any:
        kind = spec.kind
        if kind == TEXT:
            if op in LIST_OPS:
                values = raw if isinstance(raw, list) else [raw]
                texts = [self._text(v, path) for v in values]
                if any(t is None for t in texts):
                    return None
                if not texts or len(texts) > MAX_VALUES:
                    self.fail(path, f"give between 1 and {MAX_VALUES} values")
                    return None
                return tuple(dict.fromkeys(t for t in texts if t is not None))
            return self._text(raw, path)
        if kind in (NUMBER, ENGAGEMENT):
            if op == "between":
                if not (isinstance(raw, list) and len(raw) == 2):
                    self.fail(path, "`between` takes two numbers, low and high: [10, 50]")
                    return None
                low, high = (self._number(v, path) for v in raw)
                if low is None or high is None:
                    return None
                if low > high:
                    self.fail(
                        path,
                        f"the low end {number_text(low)} is above the high end {number_text(high)}; swap them",
                    )
                    return None
                return (low, high)
            number = self._number(raw, path)
            if number is not None and kind == ENGAGEMENT and number <= 0:
                self.fail(path, "an engagement threshold is a number above 0 (engagement decays towards 0)")
                return None
            return number
        if kind == GRADE:
            values = raw if isinstance(raw, list) else [raw]
            grades = [str(v).strip().upper() for v in values]
            wrong = [g for g in grades if g not in GRADE_ORDER]
            if wrong or not grades:
                self.fail(
                    path, f"grades are {', '.join(GRADE_ORDER)} (A best); not {', '.join(wrong) or 'nothing'}"
                )
                return None
            if op == "at_least":
                if len(grades) != 1:
                    self.fail(path, "`at_least` takes one grade, such as B (meaning A or B)")
                    return None
                return grades[0]
            return tuple(dict.fromkeys(grades))
        if kind == DATE:
            if op in DAY_OPS:
                return self._days(raw, path)
            return self._date(raw, path)
        # CONSENT
        if raw not in CONSENT_VALUES:
            self.fail(path, f"e-mail consent is one of: {', '.join(CONSENT_VALUES)}; not {raw!r}")
            return None
        return raw

    def _text(self, raw: Any, path: tuple[str | int, ...]) -> str | None:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            self.fail(path, f"expected text, not {type(raw).__name__}")
            return None
        text = str(raw)
        if not text.strip():
            self.fail(path, "the value is empty; to test for a missing value use is_not_set")
            return None
        if len(text) > MAX_TEXT or "\x00" in text:
            self.fail(path, f"a value is text of at most {MAX_TEXT} characters")
            return None
        return text

    def _number(self, raw: Any, path: tuple[str | int, ...]) -> float | None:
        if isinstance(raw, bool):
            raw = None
        try:
            number = float(raw)
        except (TypeError, ValueError):
            self.fail(path, f"expected a number, not {raw!r}")
            return None
        if not math.isfinite(number) or abs(number) > 1e15:
            self.fail(path, f"{raw!r} is not a usable number")
            return None
        return number

    def _days(self, raw: Any, path: tuple[str | int, ...]) -> int | None:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            self.fail(path, f"expected a whole number of days, not {raw!r}")
            return None
        try:
            days = int(raw)
        except ValueError:
            self.fail(path, f"expected a whole number of days, not {raw!r}")
            return None
        if not 1 <= days <= MAX_DAYS:
            self.fail(
                path, f"a window of {days} days is not possible; use a whole number from 1 to {MAX_DAYS}"
            )
            return None
        return days

    def _date(self, raw: Any, path: tuple[str | int, ...]) -> datetime | None:
        try:
            if isinstance(raw, datetime):
                moment = raw
            elif isinstance(raw, date):
                moment = datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
            else:
                moment = datetime.fromisoformat(str(raw))
        except ValueError:
            self.fail(path, f"expected a date such as 2026-01-31, not {raw!r}")
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def _lead(self, data: Mapping[str, Any], path: tuple[str | int, ...]) -> Cond | None:
        if set(data) != {"lead"}:
            self.fail(path, f"`lead` holds stage, owner and product; remove {_keys(set(data) - {'lead'})}")
        spec = data["lead"]
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            self.fail(
                (*path, "lead"), "`lead` is a mapping: {stage: [recycled], owner: user:3, product: crm}"
            )
            return None
        extra = set(spec) - {"stage", "owner", "product"}
        if extra:
            self.fail(
                (*path, "lead"), f"unknown key {_keys(extra)}; a lead condition has stage, owner and product"
            )
        found: dict[str, tuple[str, ...]] = {}
        ok = True
        for key in ("stage", "owner", "product"):
            raw = spec.get(key)
            if raw is None:
                found[key] = ()
                continue
            values = raw if isinstance(raw, list) else [raw]
            texts = [str(v).strip() for v in values if not isinstance(v, Mapping | list)]
            if len(texts) != len(values) or not texts or len(texts) > MAX_VALUES:
                self.fail((*path, "lead", key), f"`{key}` is one value or a list of 1 to {MAX_VALUES}")
                ok = False
                continue
            if key == "stage":
                wrong = [s for s in texts if s not in STAGES]
                if wrong:
                    self.fail((*path, "lead", key), _unknown("stage", wrong[0], STAGES))
                    ok = False
            elif key == "owner":
                wrong = [o for o in texts if not _owner_ok(o)]
                if wrong:
                    self.fail(
                        (*path, "lead", key),
                        f"owner {wrong[0]!r} is not user:ID, queue:ID or partner:ID",
                    )
                    ok = False
            found[key] = tuple(dict.fromkeys(texts))
        return HasLead(found["stage"], found["owner"], found["product"]) if ok else None

    def _did(self, data: Mapping[str, Any], path: tuple[str | int, ...]) -> Cond | None:
        extra = set(data) - {"did", "at_least", "at_most", "within_days", "url_contains"}
        if extra:
            self.fail(
                path,
                f"unknown key {_keys(extra)}; a behaviour condition has did, at_least, at_most,"
                " within_days and url_contains",
            )
        raw = data["did"]
        types = raw if isinstance(raw, list) else [raw]
        names = [
            str(t).strip().lower().replace(" ", "_").replace("-", "_") for t in types if isinstance(t, str)
        ]
        if len(names) != len(types) or not names:
            self.fail(
                (*path, "did"), "`did` is an activity type or a list of them, such as pricing_page_view"
            )
            return None
        wrong = [n for n in names if n not in ACTIVITY_TYPES]
        if wrong:
            self.fail((*path, "did"), _unknown("activity type", wrong[0], ACTIVITY_TYPES))
            return None
        before = len(self.problems)
        at_least = self._count(data.get("at_least"), (*path, "at_least"), 1)
        at_most = self._count(data.get("at_most"), (*path, "at_most"), None)
        within = data.get("within_days")
        days = self._days(within, (*path, "within_days")) if within is not None else None
        url = data.get("url_contains")
        if url is not None:
            url = self._text(url, (*path, "url_contains"))
        if len(self.problems) > before:
            return None
        least = 1 if at_least is None else at_least
        if at_most is not None and least > at_most:
            self.fail(path, f"at_least {least} is above at_most {at_most}; no one could match")
            return None
        return Did(tuple(dict.fromkeys(names)), least, at_most, days, url)

    def _count(self, raw: Any, path: tuple[str | int, ...], default: int | None) -> int | None:
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_COUNT:
            self.fail(path, f"a count is a whole number from 0 to {MAX_COUNT}, not {raw!r}")
            return None
        return raw


def _owner_ok(value: str) -> bool:
    kind, _, number = value.partition(":")
    return kind in OWNER_KINDS and number.isdigit() and 0 < int(number) < 2**31


def _keys(keys: set[Any] | frozenset[Any]) -> str:
    return ", ".join(f"`{k}`" for k in sorted(map(str, keys)))


def _unknown(what: str, given: Any, known: Mapping[str, Any] | Sequence[str]) -> str:
    names = list(known)
    close = difflib.get_close_matches(str(given), names, n=1) if isinstance(given, str) else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown {what} {given!r}{hint}; known: {', '.join(names)}"


def parse_definition(data: Any) -> Definition:
    """A stored or submitted document -> a Definition, or DefinitionError with every problem."""
    p = _Parser()
    if not isinstance(data, Mapping):
        raise DefinitionError(
            [((), "a segment definition is a mapping with `match:` holding its conditions")]
        )
    extra = set(data) - {"schema", "match"}
    if extra:
        p.fail((), f"unknown key {_keys(extra)}; a definition has `schema` and `match`")
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        p.fail(("schema",), f"schema {schema!r} is not known; this version reads schema {SCHEMA}")
    if "match" not in data:
        p.fail((), "put the conditions under `match:` (for example match: {all: [...]})")
        raise DefinitionError(p.problems)
    cond = p.cond(data["match"], ("match",), 0)
    if p.problems or cond is None:
        raise DefinitionError(p.problems or [(("match",), "no condition")])
    return Definition(cond)
