"""Each report as tables of text cells (title, header, rows): what the CLI prints (Rich or CSV), what
`/api/v1/reports/...` returns, so the terminal and the API give the same figures by construction.
Amounts are exact decimal strings; rates are fractions with four decimals; "" is no value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from sqlalchemy.orm import Session

from leadloop.analytics import audit, capacity, forecast, funnel, roi, sla, speed
from leadloop.analytics.facts_model import STAGES
from leadloop.analytics.filters import Money, ReportFilters
from leadloop.settings import Settings


@dataclass(frozen=True, slots=True)
class Shaped:
    title: str
    header: list[str]
    rows: list[list[str]]


def cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, Decimal):
        return str(v)
    return str(v)


def _t(title: str, header: list[str], rows: list[list[object]]) -> Shaped:
    return Shaped(title, header, [[cell(c) for c in r] for r in rows])


@dataclass(frozen=True, slots=True)
class Ask:
    now: datetime
    filters: ReportFilters
    money: Money
    by: str | None = None
    config: capacity.CapacityConfig | None = None


def _audit(s: Session, a: Ask) -> list[Shaped]:
    by = a.by or "source"
    rows = audit.audit_report(s, now=a.now, filters=a.filters, by=by, money=a.money)
    head = [
        by,
        "key",
        "handed",
        "accepted",
        "rejected",
        "within SLA",
        "converted",
        "won",
        "revenue",
        "currency",
        "reasons",
    ]
    return [
        _t(
            f"Lead audit by {by}",
            head,
            [
                [
                    r.group,
                    r.key,
                    r.handed,
                    r.accepted,
                    r.rejected,
                    r.within_sla,
                    r.converted,
                    r.won,
                    r.revenue,
                    r.currency,
                    "; ".join(f"{k} {n}" for k, n in r.reasons),
                ]
                for r in rows
            ],
        )
    ]


def _funnel(s: Session, a: Ask) -> list[Shaped]:
    by = a.by or "cohort"
    f = funnel.funnel_report(s, now=a.now, filters=a.filters, by=by, money=a.money)
    head = [
        by,
        "key",
        *STAGES,
        *(f"{x}→{y}" for x, y in pairwise(STAGES)),
        *(f"days {x}" for x in STAGES[:-1]),
        "recycled",
        "reactivated",
    ]
    body: list[list[object]] = [
        [r.group, r.key, *r.reached, *r.rates, *r.median_days, r.recycled, r.reactivated] for r in f.rows
    ]
    v = f.revenue
    share = [
        [
            v.currency,
            v.won_deals,
            v.revenue,
            v.reactivated_deals,
            v.reactivated_revenue,
            v.reactivated_share,
            v.old_deals,
            v.old_revenue,
            v.old_share,
        ]
    ]
    return [
        _t(f"Funnel by {by}", head, body),
        _t(
            "Revenue from recycled and old leads",
            [
                "currency",
                "won deals",
                "revenue",
                "reactivated deals",
                "reactivated revenue",
                "reactivated share",
                "old deals",
                "old revenue",
                "old share",
            ],
            share,
        ),
    ]


def _speed(s: Session, a: Ask) -> list[Shaped]:
    rows = speed.speed_report(s, now=a.now, filters=a.filters)
    head = [
        "first response",
        "leads",
        "sal",
        "sql",
        "opportunity",
        "won",
        "to sal",
        "to sql",
        "to opportunity",
        "to won",
    ]
    return [
        _t(
            "Speed to lead",
            head,
            [
                [r.bucket, r.leads, r.sal, r.sql, r.opportunity, r.won, *(r.rate(o) for o in speed.OUTCOMES)]
                for r in rows
            ],
        )
    ]


def _roi(s: Session, a: Ask) -> list[Shaped]:
    rows = roi.roi_report(s, now=a.now, filters=a.filters, money=a.money)
    head = [
        "campaign",
        "key",
        "channel",
        "started",
        "ended",
        "cost",
        *roi.COUNTED,
        *(f"cost per {c}" for c in roi.COUNTED),
        "pipeline",
        "revenue",
        "attributed",
        "roi",
        "currency",
    ]
    return [
        _t(
            "Campaign ROI",
            head,
            [
                [
                    r.campaign,
                    r.key,
                    r.channel,
                    r.started and r.started.date(),
                    r.ended and r.ended.date(),
                    r.cost,
                    *r.counts,
                    *(r.cost_per(c) for c in roi.COUNTED),
                    r.pipeline,
                    r.revenue,
                    r.attributed,
                    r.roi,
                    r.currency,
                ]
                for r in rows
            ],
        )
    ]


def _sla(s: Session, a: Ask) -> list[Shaped]:
    by = a.by or "rep"
    rows = sla.sla_compliance(s, now=a.now, filters=a.filters, by=by)
    head = [
        by,
        "assigned",
        "touched",
        "median min",
        "p90 min",
        "met",
        "missed",
        "running",
        "share within",
        "taken for SLA",
    ]
    return [
        _t(
            f"Speed to lead (SLA) by {by}",
            head,
            [
                [
                    r.group,
                    r.assigned,
                    r.touched,
                    r.median_minutes,
                    r.p90_minutes,
                    r.within_sla,
                    r.missed,
                    r.running,
                    r.share_within,
                    r.taken_for_sla,
                ]
                for r in rows
            ],
        )
    ]


def _aging(s: Session, a: Ask) -> list[Shaped]:
    rows = sla.aging_report(s, now=a.now, filters=a.filters)
    return [
        _t(
            "Open leads by age",
            ["owner", "key", *sla.AGES, "open", "oldest days"],
            [[r.owner, r.key, *r.ages, r.open, r.oldest_days] for r in rows],
        )
    ]


def _forecast(s: Session, a: Ask) -> list[Shaped]:
    f = forecast.forecast(s, now=a.now, filters=a.filters, money=a.money)
    b = f.backtest
    return [
        _t(
            f"Forecast ({f.currency})" + (f": {f.note}" if f.note else ""),
            ["month", "open deals", "open amount", "weighted", "won a year earlier"],
            [[r.month, r.open_deals, r.open_amount, r.weighted, r.last_year_won] for r in f.rows],
        ),
        _t("Win rates", ["stage", "win rate"], [[k, v] for k, v in f.rates.items()]),
        _t(
            "Backtest: the forecast made at the start of last quarter",
            [
                "made at",
                "quarter end",
                "pipeline deals",
                "predicted",
                "won from that pipeline",
                "won in the quarter",
            ],
            [
                [
                    b.made_at.date(),
                    b.quarter_end.date(),
                    b.pipeline_deals,
                    b.predicted,
                    b.actual_from_pipeline,
                    b.actual_all,
                ]
            ],
        ),
    ]


def _capacity(s: Session, a: Ask) -> list[Shaped]:
    c = capacity.capacity_report(s, now=a.now, filters=a.filters, money=a.money, config=a.config)
    k = c.config
    return [
        _t(
            f"Leads per rep per week (capacity {k.leads_per_week})",
            ["rep", "key", "week", "leads", "load", "median response min"],
            [[w.rep, w.key, w.week, w.leads, w.load, w.median_response_minutes] for w in c.weeks],
        ),
        _t(
            "First response as load grows",
            ["load", "rep weeks", "leads", "median response min", "within SLA"],
            [[b.band, b.rep_weeks, b.leads, b.median_response_minutes, b.within_sla] for b in c.bands],
        ),
        _t(
            f"Cost of handling a lead by channel ({k.minutes_per_touch} min a touch, {k.minutes_per_lead} min a lead, "
            f"{k.cost_per_hour} an hour)",
            [
                "channel",
                "leads",
                "sales touches",
                "handling cost",
                "cost per lead",
                "won",
                "cost per won",
                "revenue",
                "currency",
            ],
            [
                [
                    r.channel,
                    r.leads,
                    r.sales_touches,
                    r.handling_cost,
                    r.cost_per_lead,
                    r.won,
                    r.cost_per_won,
                    r.revenue,
                    r.currency,
                ]
                for r in c.channels
            ],
        ),
    ]


def ask_for(
    settings: Settings,
    *,
    now: datetime,
    filters: ReportFilters,
    by: str | None = None,
    currency: str | None = None,
) -> Ask:
    """A report's question under the settings' money (default currency, exchange rates) and capacity."""
    money = Money(settings.default_currency, dict(settings.fx_rates), currency.upper() if currency else None)
    config = capacity.CapacityConfig(
        settings.rep_capacity_per_week,
        Decimal(settings.rep_cost_per_hour),
        settings.minutes_per_touch,
        settings.minutes_per_lead,
    )
    return Ask(now, filters, money, by, config)


REPORTS: dict[str, Callable[[Session, Ask], list[Shaped]]] = {
    "funnel": _funnel,
    "audit": _audit,
    "roi": _roi,
    "speed": _speed,
    "sla": _sla,
    "aging": _aging,
    "forecast": _forecast,
    "capacity": _capacity,
}
