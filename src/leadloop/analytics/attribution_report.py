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

from leadloop.analytics.attribution import (
    DEFAULT_HALF_LIFE,
    DEFAULT_WINDOW,
    MARKOV,
    MODELS,
    NO_CAMPAIGN,
    Opp,
    Touch,
    credit,
)
from leadloop.analytics.attribution_queries import campaign_named, load
from leadloop.analytics.markov import removal_effects
from leadloop.core.errors import InvalidInput

BY = ("campaign", "channel", "content")
NO_TOUCHES = "(no touches)"
_NONE = {"campaign": NO_CAMPAIGN, "channel": "(no channel)", "content": "(no content)"}


@dataclass
class AttributionRow:
    group: str
    currency: str
    revenue: dict[str, Decimal] = field(default_factory=dict)  # model -> won amount credited
    pipeline: dict[str, Decimal] = field(default_factory=dict)  # model -> open amount credited


def group_of(touch: Touch, by: str) -> str:
    value = {"campaign": touch.campaign, "channel": touch.channel, "content": touch.content}[by]
    return value or _NONE[by]


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
    rows: dict[tuple[str, str], AttributionRow] = {}

    def row(group: str, currency: str) -> AttributionRow:
        key = (group, currency)
        if key not in rows:
            zero = {m: Decimal(0) for m in models}
            rows[key] = AttributionRow(group, currency, dict(zero), dict(zero))
        return rows[key]

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
    first = models[0]
    return sorted(rows.values(), key=lambda r: (r.currency, -(r.revenue[first] + r.pipeline[first]), r.group))


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
    loaded = load(
        session,
        now=now,
        start=None if start is None else datetime.combine(start, time(), UTC),
        end=None if end is None else datetime.combine(end + timedelta(days=1), time(), UTC),
        window=window,
        default_currency=default_currency,
    )
    return rollup(loaded.opps, loaded.touches, models=chosen, by=by, campaign=name, half_life=half_life)
