"""A segment definition compiled to one SQL query (SQLAlchemy Core, SQLite and PostgreSQL alike).

Two shapes of the same meaning (model.evaluate is the meaning; a hypothesis test holds all three
to it):
- **set** (`few=False`), for a rebuild over everyone: behaviour and lead conditions are
  uncorrelated `IN (SELECT person_id ... GROUP BY ... HAVING count(*) >= n)` subqueries that the
  database materialises once, read from `ix_activities_type_time_person`;
- **few** (`few=True`), for the handful of people an event touched: the same conditions as
  correlated subqueries, each an index probe on the person (`ix_activities_person_time`), so one
  person costs microseconds instead of a scan of a fortnight of page views.

Every atom is two-valued (never NULL): a missing value is tested explicitly, so NOT means what
model.py says it means and not SQL's three-valued logic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from leadloop.segments.evaluate import engagement_threshold, fold, grades_at_least, since
from leadloop.segments.model import (
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
    Definition,
    Did,
    HasLead,
    Not,
)
from leadloop.store.tables import Account, Activity, Lead, Person
from leadloop.store.types import UTCDateTime

P: sa.Table = Person.__table__  # type: ignore[assignment]
A: sa.Table = Account.__table__  # type: ignore[assignment]
L: sa.Table = Lead.__table__  # type: ignore[assignment]
ACT: sa.Table = Activity.__table__  # type: ignore[assignment]

_SCORE_COLUMNS = {"fit": "fit_score", "grade": "grade", "engagement": "engagement_key"}


def column_of(field: str) -> sa.Column[Any]:
    if field.startswith("person."):
        return P.c[field.removeprefix("person.")]
    if field.startswith("account."):
        return A.c[field.removeprefix("account.")]
    if field == "consent.email":
        return P.c.email_opt_in
    return P.c[_SCORE_COLUMNS[field]]


class Binds:
    """The values of a compiled query that move with time: each a named bind parameter, given its
    value per run (`values(now, rate)`). So the statement is built once per definition and
    reused (SQLAlchemy then reuses its compiled form too), whatever `now` is."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.needs: dict[str, tuple[str, float]] = {}

    def _bind(self, kind: str, arg: float, type_: Any) -> Any:
        name = f"{self.prefix}{kind}_{len(self.needs)}"
        self.needs[name] = (kind, arg)
        return sa.bindparam(name, type_=type_)

    def since(self, days: int) -> Any:
        """now minus `days` days."""
        return self._bind("since", days, UTCDateTime())

    def engagement(self, value: float) -> Any:
        """The ranking key an engagement of `value` has now (decay.py)."""
        return self._bind("eng", value, sa.Float())

    def values(self, now: datetime, rate: float) -> dict[str, Any]:
        return {
            name: since(now, int(arg)) if kind == "since" else engagement_threshold(arg, now, rate)
            for name, (kind, arg) in self.needs.items()
        }


@dataclass(frozen=True)
class Query:
    select: sa.Select[Any]
    binds: Binds

    def params(self, now: datetime, rate: float) -> dict[str, Any]:
        return self.binds.values(now, rate)

    def at(self, now: datetime, rate: float) -> sa.Select[Any]:
        """The query with this moment's values in it (for a count or a test; hot paths pass
        `params` at execution instead)."""
        return self.select.params(**self.params(now, rate)) if self.binds.needs else self.select


@functools.lru_cache(maxsize=512)
def compiled(d: Definition, *, few: bool = False, prefix: str = "") -> Query:
    """SELECT people.id of everyone the definition takes (live people only: a person merged into
    another is in no segment; the survivor is judged on the merged record), with the moment's
    values left as bind parameters. Cached per definition: the segments of every capture reuse it."""
    binds = Binds(prefix)
    stmt = sa.select(P.c.id).where(P.c.merged_into_id.is_(None), where_clause(d.match, binds=binds, few=few))
    if d.uses_accounts:
        stmt = stmt.select_from(P.outerjoin(A, A.c.id == P.c.account_id))
    return Query(stmt, binds)


def members_select(d: Definition, *, now: datetime, rate: float, few: bool = False) -> sa.Select[Any]:
    """The definition's query at `now`, values filled in."""
    return compiled(d, few=few).at(now, rate)


def where_clause(c: Cond, *, binds: Binds, few: bool) -> ColumnElement[bool]:
    if isinstance(c, All):
        return sa.and_(*(where_clause(i, binds=binds, few=few) for i in c.items))
    if isinstance(c, AnyOf):
        return sa.or_(*(where_clause(i, binds=binds, few=few) for i in c.items))
    if isinstance(c, Not):
        return sa.not_(where_clause(c.item, binds=binds, few=few))
    if isinstance(c, HasLead):
        return _has_lead(c, few=few)
    if isinstance(c, Did):
        return _did(c, binds=binds, few=few)
    return _test(c, binds=binds)


def _float(value: float) -> Any:
    # Bound as a float whatever the column: a Numeric column would turn it into a Decimal, which
    # SQLite cannot store and warns about.
    return sa.literal(float(value), sa.Float())


def _like(text: str, *, prefix: bool) -> str:
    escaped = fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


def _test(c: Compare, *, binds: Binds) -> ColumnElement[bool]:
    spec = FIELDS[c.field]
    col = column_of(c.field)
    if spec.kind == ENGAGEMENT:
        threshold = binds.engagement(float(c.value))
        compared: ColumnElement[bool] = {
            ">=": col >= threshold,
            ">": col > threshold,
            "<": col < threshold,
            "<=": col <= threshold,
        }[c.op]
        return compared
    if spec.kind == "consent":
        wanted = CONSENT_VALUES[c.value]
        same = col.is_(wanted)
        return same if c.op == "is" else sa.not_(same)
    textual = isinstance(col.type, sa.String)
    if c.op == "is_set":
        return sa.and_(col.is_not(None), col != "") if textual else col.is_not(None)
    if c.op == "is_not_set":
        return sa.or_(col.is_(None), col == "") if textual else col.is_(None)
    if spec.kind == TEXT:
        return _text(c.op, c.value, col)
    if spec.kind == NUMBER:
        return _number(c.op, c.value, col)
    if spec.kind == GRADE:
        allowed = list(grades_at_least(c.value) if c.op == "at_least" else c.value)
        if c.op == "not_in":
            return sa.or_(col.is_(None), col.not_in(allowed))
        return sa.and_(col.is_not(None), col.in_(allowed))
    return _date(c.op, c.value, col, binds)


def _text(op: str, wanted: Any, col: sa.Column[Any]) -> ColumnElement[bool]:
    low = sa.func.lower(col)
    if op == "=":
        return sa.and_(col.is_not(None), low == fold(wanted))
    if op == "!=":
        return sa.or_(col.is_(None), low != fold(wanted))
    if op == "in":
        return sa.and_(col.is_not(None), low.in_([fold(w) for w in wanted]))
    if op == "not_in":
        return sa.or_(col.is_(None), low.not_in([fold(w) for w in wanted]))
    if op == "contains":
        return sa.and_(col.is_not(None), low.like(_like(wanted, prefix=False), escape="\\"))
    if op == "not_contains":
        return sa.or_(col.is_(None), sa.not_(low.like(_like(wanted, prefix=False), escape="\\")))
    return sa.and_(col.is_not(None), low.like(_like(wanted, prefix=True), escape="\\"))  # starts_with


def _number(op: str, wanted: Any, col: sa.Column[Any]) -> ColumnElement[bool]:
    if op == "!=":
        return sa.or_(col.is_(None), col != _float(wanted))
    if op == "between":
        return sa.and_(col.is_not(None), col >= _float(wanted[0]), col <= _float(wanted[1]))
    v = _float(wanted)
    compared = {"=": col == v, ">": col > v, ">=": col >= v, "<": col < v, "<=": col <= v}[op]
    return sa.and_(col.is_not(None), compared)


def _date(op: str, wanted: Any, col: sa.Column[Any], binds: Binds) -> ColumnElement[bool]:
    if op == "before":
        return sa.and_(col.is_not(None), col < wanted)
    if op == "since":
        return sa.and_(col.is_not(None), col >= wanted)
    if op == "in_last_days":
        return sa.and_(col.is_not(None), col >= binds.since(wanted))
    return sa.and_(col.is_not(None), col < binds.since(wanted))  # more_than_days_ago


def _owner(value: str) -> ColumnElement[bool]:
    kind, _, number = value.partition(":")
    col = {"user": L.c.owner_user_id, "queue": L.c.owner_team_id, "partner": L.c.owner_partner_id}[kind]
    return col == int(number)


def _lead_filters(c: HasLead) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [L.c.stage != "merged"]
    if c.stages:
        found.append(L.c.stage.in_(list(c.stages)))
    if c.owners:
        found.append(sa.or_(*(_owner(o) for o in c.owners)))
    if c.products:
        found.append(L.c.product.in_(list(c.products)))
    return found


def _has_lead(c: HasLead, *, few: bool) -> ColumnElement[bool]:
    if few:
        return sa.exists().where(L.c.account_id == P.c.account_id, *_lead_filters(c))
    accounts = sa.select(L.c.account_id).where(*_lead_filters(c))
    return sa.and_(P.c.account_id.is_not(None), P.c.account_id.in_(accounts))


def _did_filters(c: Did, binds: Binds) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [ACT.c.type.in_(list(c.types))]
    if c.within_days is not None:
        found.append(ACT.c.occurred_at >= binds.since(c.within_days))
    if c.url_contains is not None:
        found.append(sa.func.lower(ACT.c.url).like(_like(c.url_contains, prefix=False), escape="\\"))
    return found


def _did(c: Did, *, binds: Binds, few: bool) -> ColumnElement[bool]:
    if c.at_least == 0 and c.at_most is None:
        return sa.true()
    filters = _did_filters(c, binds)
    if few:
        done = sa.select(sa.func.count()).where(ACT.c.person_id == P.c.id, *filters).scalar_subquery()
        return done >= c.at_least if c.at_most is None else sa.and_(done >= c.at_least, done <= c.at_most)
    rows = sa.select(ACT.c.person_id).where(ACT.c.person_id.is_not(None), *filters)
    n = sa.func.count()
    if c.at_most is None:
        return P.c.id.in_(rows if c.at_least == 1 else rows.group_by(ACT.c.person_id).having(n >= c.at_least))
    if c.at_least == 0:  # "never", or "at most m times": not among those who did it more often
        return P.c.id.not_in(rows.group_by(ACT.c.person_id).having(n > c.at_most))
    return P.c.id.in_(rows.group_by(ACT.c.person_id).having(sa.and_(n >= c.at_least, n <= c.at_most)))
