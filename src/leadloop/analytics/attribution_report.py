"""Revenue (won) and pipeline (open) per campaign, channel or content under each attribution model,
side by side, one row per group and currency: amounts in two currencies are never added together.

An opportunity without a touch in its window is not lost money: its amount shows on a "(no touches)"
row. Lost opportunities carry no money but teach the Markov model what does not convert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from leadloop.analytics import credits
from leadloop.analytics.attribution import (
    BY,
    DEFAULT_HALF_LIFE,
    DEFAULT_WINDOW,
    MARKOV,
    MODELS,
    NO_CAMPAIGN,
    NO_TOUCHES,
    Opp,
    Touch,
    credit,
    group_of,
)
from leadloop.analytics.attribution_queries import campaign_named, load
from leadloop.analytics.markov import removal_effects
from leadloop.core.errors import InvalidInput


@dataclass
class AttributionRow:
    group: str
    currency: str
    revenue: dict[str, Decimal] = field(default_factory=dict)  # model -> won amount credited
    pipeline: dict[str, Decimal] = field(default_factory=dict)  # model -> open amount credited


def rollup(
    opps: Sequence[Opp],
    touches: dict[int, list[Touch]],
    *,
    models: Sequence[str],
    by: str,
    campaign: str | None = None,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> list[AttributionRow]:
    """Pure: the rows from the opportunities and their windowed touches. `campaign` keeps only that
    campaign's touches (their credit is still computed among all the opportunity's touches)."""
    removal = (
        removal_effects(
            ([t.campaign or NO_CAMPAIGN for t in touches.get(o.id, [])], o.outcome == "won")
            for o in opps
            if o.outcome != "open"
        )
        if MARKOV in models
        else {}
    )
    rows = _Rows(models)
    row = rows.row
    for o in opps:
        if o.outcome == "lost":
            continue
        ts = touches.get(o.id, [])
        if not ts:
            if campaign is None:
                r = row(NO_TOUCHES, o.currency)
                for m in models:
                    (r.revenue if o.outcome == "won" else r.pipeline)[m] += o.amount
            continue
        groups = [group_of(t, by) for t in ts]
        keep = [campaign is None or t.campaign == campaign for t in ts]
        for m in models:
            for part, g, k in zip(
                credit(m, o, ts, half_life=half_life, removal=removal), groups, keep, strict=True
            ):
                if k:
                    r = row(g, o.currency)
                    (r.revenue if o.outcome == "won" else r.pipeline)[m] += part
    return rows.ordered()


class _Rows:
    """The report's rows as they fill, one per group and currency, every model at zero to start."""

    def __init__(self, models: Sequence[str]) -> None:
        self.models = models
        self.rows: dict[tuple[str, str], AttributionRow] = {}

    def row(self, group: str, currency: str) -> AttributionRow:
        key = (group, currency)
        if key not in self.rows:
            zero = {m: Decimal(0) for m in self.models}
            self.rows[key] = AttributionRow(group, currency, dict(zero), dict(zero))
        return self.rows[key]

    def add(self, group: str, currency: str, outcome: str, model: str, cents: int) -> None:
        r = self.row(group, currency)
        (r.revenue if outcome == "won" else r.pipeline)[model] += Decimal(cents).scaleb(-2)

    def ordered(self) -> list[AttributionRow]:
        first = self.models[0]
        return sorted(
            self.rows.values(), key=lambda r: (r.currency, -(r.revenue[first] + r.pipeline[first]), r.group)
        )


def kept(
    session: Session,
    *,
    models: Sequence[str],
    by: str,
    start: datetime | None,
    end: datetime | None,
    campaign: str | None,
) -> list[AttributionRow]:
    """`rollup`'s rows from the credits the facts' refresh keeps (ADR 0048): the same sums, read as a
    range of stored rows, the data-driven model shared out over the range's paths."""
    rows = _Rows(models)
    fixed = [m for m in models if m != MARKOV]
    for group, currency, outcome, _amount, _n, cents in credits.sums(
        session, by=by, models=fixed, start=start, end=end, campaign=campaign
    ):
        rows.row(group, currency)
        for m, c in zip(fixed, cents, strict=True):
            rows.add(group, currency, outcome, m, c)
    if MARKOV in models:
        for (group, currency, outcome), c in credits.markov(
            session, by=by, start=start, end=end, campaign=campaign
        ).items():
            rows.add(group, currency, outcome, MARKOV, c)
    return rows.ordered()


def check_models(models: Sequence[str] | None) -> list[str]:
    chosen = list(models or MODELS)
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise InvalidInput(f"unknown attribution model {unknown[0]!r}; known models: {', '.join(MODELS)}")
    return list(dict.fromkeys(chosen))


def attribution_report(
    session: Session,
    *,
    now: datetime,
    models: Sequence[str] | None = None,
    by: str = "campaign",
    start: date | None = None,
    end: date | None = None,
    campaign: str | None = None,
    window: timedelta = DEFAULT_WINDOW,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    default_currency: str = "USD",
) -> list[AttributionRow]:
    """The report between two dates, both included (won and lost by close date, open by creation)."""
    chosen = check_models(models)
    if by not in BY:
        raise InvalidInput(f"group by one of {', '.join(BY)}, not {by!r}")
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"the date range ends ({end}) before it starts ({start})")
    if window <= timedelta(0) or half_life <= timedelta(0):
        raise InvalidInput("the window and the half-life must be positive")
    name = campaign_named(session, campaign) if campaign is not None else None
    lo = None if start is None else datetime.combine(start, time(), UTC)
    hi = None if end is None else datetime.combine(end + timedelta(days=1), time(), UTC)
    if credits.answers(session, window=window, half_life=half_life):
        return kept(session, models=chosen, by=by, start=lo, end=hi, campaign=name)
    loaded = load(session, now=now, start=lo, end=hi, window=window, default_currency=default_currency)
    return rollup(loaded.opps, loaded.touches, models=chosen, by=by, campaign=name, half_life=half_life)
