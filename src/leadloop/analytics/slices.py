"""How every lead-based report slices the facts (ADR 0036): the scope's conditions, the dimension a
report groups by, the labels of grouped ids, and the drill-down from any number to the leads behind
it. Reports group in SQL (counts, sums, histograms), so a page reads a few hundred rows, not a
million; a median comes from a histogram of whole hours or minutes (`median_of_counts`).

The date range selects leads by their opening (a cohort); an opportunity's money by its close
(won) or creation (open). A segment holds people: a lead is in it when a live person of its account
is a member. A team filter keeps the leads its members own or the team (a queue) owns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.filters import Scope
from leadloop.core.errors import InvalidInput
from leadloop.store.tables import Campaign, LeadFactRow, OppFactRow, Person, SegmentMember, Team, User

LF: sa.Table = LeadFactRow.__table__  # type: ignore[assignment]
OF: sa.Table = OppFactRow.__table__  # type: ignore[assignment]
DIMS = ("cohort", "source", "campaign", "segment", "product", "team", "rep", "grade", "rule")
NONE = "(none)"


def check_dim(by: str, allowed: tuple[str, ...] = DIMS) -> str:
    if by not in allowed:
        raise InvalidInput(f"group by one of {', '.join(allowed)}, not {by!r}")
    return by


def _segment_accounts(segment_id: int | None = None) -> Any:
    q = (
        sa.select(SegmentMember.segment_id, Person.account_id)
        .join(Person, Person.id == SegmentMember.person_id)
        .where(Person.merged_into_id.is_(None), Person.account_id.is_not(None))
    )
    if segment_id is not None:
        q = q.where(SegmentMember.segment_id == segment_id)
    return q.distinct()


def cell_where(scope: Scope, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The scope's campaign, product and team, on `lead_facts` or on a rollup of its cells."""
    out: list[sa.ColumnElement[bool]] = []
    if scope.campaign_id is not None:
        out.append(table.c.campaign_id == scope.campaign_id)
    if scope.product is not None:
        out.append(table.c.product == scope.product)
    if scope.team_id is not None:
        out.append(table.c.team_id == scope.team_id)
    return out


def where(scope: Scope, *, dated: bool = True) -> list[sa.ColumnElement[bool]]:
    """The scope's conditions on `lead_facts` (the range on the opening unless `dated` is off)."""
    out: list[sa.ColumnElement[bool]] = []
    # The cohorts the range touches, said too: indexes that lead with the cohort read only those.
    if dated and scope.since is not None:
        out += [LF.c.opened_at >= scope.since, LF.c.cohort >= scope.since.strftime("%Y-%m")]
    if dated and scope.until is not None:
        last = scope.until - timedelta(microseconds=1)
        out += [LF.c.opened_at < scope.until, LF.c.cohort <= last.strftime("%Y-%m")]
    out += cell_where(scope, LF)
    if scope.segment_id is not None:
        out.append(
            LF.c.account_id.in_(_segment_accounts(scope.segment_id).with_only_columns(Person.account_id))
        )
    return out


def key_column(by: str) -> sa.ColumnElement[Any]:
    return {
        "cohort": LF.c.cohort,
        "source": LF.c.source,
        "campaign": LF.c.campaign_id,
        "product": LF.c.product,
        "team": LF.c.team_id,
        "rep": LF.c.owner_user_id,
        "grade": LF.c.grade,
        "rule": LF.c.rule,
    }[by]


def grouped(by: str, *columns: sa.ColumnElement[Any]) -> tuple[sa.Select[Any], sa.ColumnElement[Any]]:
    """SELECT key, *columns FROM lead_facts (joined to segments when grouping by segment); the caller
    adds its conditions and `.group_by(key, ...)`."""
    if by == "segment":
        seg = _segment_accounts().subquery()
        key: sa.ColumnElement[Any] = seg.c.segment_id
        return sa.select(key, *columns).select_from(LF.join(seg, seg.c.account_id == LF.c.account_id)), key
    key = key_column(by)
    return sa.select(key, *columns).select_from(LF), key


def as_key(value: object) -> str:
    """A group's key as text, the drill-down's handle ('' for no value)."""
    return "" if value is None else str(value)


def labels(session: Session, by: str, keys: list[object]) -> dict[str, str]:
    """What a person reads for each key: names for ids; "(none)" for no value."""
    ids = sorted({int(str(k)) for k in keys if k is not None and str(k).lstrip("-").isdigit()})
    names: Mapping[Any, Any] = {}
    if by == "campaign":
        names = dict(session.execute(sa.select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all())
    elif by == "team":
        names = dict(session.execute(sa.select(Team.id, Team.name).where(Team.id.in_(ids))).all())
    elif by == "rep":
        names = {
            i: n or e
            for i, n, e in session.execute(sa.select(User.id, User.name, User.email).where(User.id.in_(ids)))
        }
    elif by == "segment":
        from leadloop.store.tables import Segment

        names = dict(session.execute(sa.select(Segment.id, Segment.name).where(Segment.id.in_(ids))).all())
    out = {}
    for k in keys:
        text = as_key(k)
        out[text] = (
            NONE
            if k is None
            else str(names.get(int(text), f"#{text}") if by in ("campaign", "team", "rep", "segment") else k)
        )
    return out


def key_condition(by: str, key: str) -> sa.ColumnElement[bool]:
    """The leads of one group (its key as `as_key` wrote it)."""
    if by == "segment":
        if not key.isdigit():
            raise InvalidInput(f"a segment's key is its id, not {key!r}")
        return LF.c.account_id.in_(_segment_accounts(int(key)).with_only_columns(Person.account_id))
    col = key_column(by)
    if key == "":
        return col.is_(None)
    if by in ("campaign", "team", "rep"):
        if not key.lstrip("-").isdigit():
            raise InvalidInput(f"a {by}'s key is its id, not {key!r}")
        return col == int(key)
    return col == key


def lead_ids(
    session: Session, scope: Scope, conditions: list[sa.ColumnElement[bool]], *, limit: int = 10_000
) -> list[int]:
    """The leads behind a number: the scope, the group and the measure's conditions."""
    q = sa.select(LF.c.lead_id).where(*where(scope), *conditions).order_by(LF.c.lead_id).limit(limit)
    return list(session.scalars(q))


def median_of_counts(counts: Mapping[int, int]) -> float | None:
    """The median of values given as value -> how many (the middle two averaged when even)."""
    n = sum(counts.values())
    if n == 0:
        return None
    ordered = sorted((v, c) for v, c in counts.items() if c)
    lo_i, hi_i = (n - 1) // 2, n // 2
    seen, lo, hi = 0, None, None
    for v, c in ordered:
        if lo is None and seen + c > lo_i:
            lo = v
        if seen + c > hi_i:
            hi = v
            break
        seen += c
    assert lo is not None and hi is not None
    return (lo + hi) / 2
