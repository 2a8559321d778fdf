"""Which panels each role's dashboard shows, read from the reports that own the figures.

Marketing: funnel, ROI, attribution, lead audit, speed to lead. Manager: SLA, aging, forecast,
capacity, team funnel. Rep: my numbers. A panel is built by one function from one report of
`leadloop.analytics` (the CLI's `leadloop report …` and `/api/v1/reports/…` print the same
reports); this module only chooses columns and charts, it computes no figure of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from leadloop.analytics import audit, capacity, forecast, funnel, roi, sla, speed
from leadloop.analytics.attribution_report import attribution_report
from leadloop.analytics.facts_model import STAGES
from leadloop.analytics.filters import ReportFilters
from leadloop.analytics.shapes import Ask
from leadloop.core.errors import InvalidInput
from leadloop.dashboards.panel import Chart, Column, Panel

BOARDS = ("marketing", "manager", "rep")
TITLES = {"marketing": "Marketing dashboard", "manager": "Manager dashboard", "rep": "My numbers"}
STAGE_LABELS = {
    "inquiry": "Inquiry",
    "mql": "MQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}


@dataclass(frozen=True)
class View:
    """Who is looking and at what: the filters as asked, the question for the reports, and whose
    numbers a rep's board keeps (their own user id)."""

    ask: Ask
    user_id: int
    start: date
    end: date

    @property
    def now(self) -> datetime:
        return self.ask.now

    @property
    def filters(self) -> ReportFilters:
        return self.ask.filters

    def query(self, **extra: str | None) -> str:
        """The filters as a query string (empty ones left out), then `extra` (an empty key kept: it
        names the "(none)" row of a report)."""
        f = self.filters
        params = {
            "from": str(self.start),
            "to": str(self.end),
            "campaign": f.campaign,
            "segment": f.segment,
            "team": f.team,
            "product": f.product,
        }
        kept = {k: v for k, v in params.items() if v} | {k: v for k, v in extra.items() if v is not None}
        return urlencode(kept)

    def drill(self, report: str, key: str, measure: str | None = None, by: str | None = None) -> str:
        return "/dashboards/leads?" + self.query(report=report, key=key, measure=measure, by=by)


Builder = Callable[[Session, View], Panel]


def _links(rows: list[Any], make: Callable[[Any], dict[str, str]]) -> dict[int, dict[str, str]]:
    return {n: make(r) for n, r in enumerate(rows)}


def funnel_panel(session: Session, view: View) -> Panel:
    f = funnel.funnel_report(session, now=view.now, filters=view.filters, by="cohort", money=view.ask.money)
    rows = f.rows
    return Panel(
        id="funnel",
        title="Funnel by monthly cohort",
        columns=(
            Column("cohort", "Cohort (first seen)"),
            *(Column(s, STAGE_LABELS[s], "int") for s in STAGES),
            Column("rate", "Inquiry → won", "pct"),
            Column("recycled", "Recycled", "int"),
            Column("reactivated", "Reactivated", "int"),
        ),
        rows=tuple(
            {
                "cohort": r.group,
                **dict(zip(STAGES, r.reached, strict=True)),
                "rate": (r.reached[-1] / r.reached[0]) if r.reached[0] else None,
                "recycled": r.recycled,
                "reactivated": r.reactivated,
            }
            for r in rows
        ),
        chart=Chart("line", "cohort", STAGES[1:]),
        note="Leads by the month they were first seen, and how far each got; recycled and reactivated "
        "leads are counted apart too.",
        links=_links(
            rows,
            lambda r: {
                **{s: view.drill("funnel", r.key, s, "cohort") for s in STAGES},
                "recycled": view.drill("funnel", r.key, "recycled", "cohort"),
                "reactivated": view.drill("funnel", r.key, "reactivated", "cohort"),
            },
        ),
    )


def revenue_share_panel(session: Session, view: View) -> Panel:
    v = funnel.funnel_report(
        session, now=view.now, filters=view.filters, by="cohort", money=view.ask.money
    ).revenue
    return Panel(
        id="revenue_share",
        title="Revenue from recycled and old leads",
        columns=(
            Column("currency", "Currency"),
            Column("won", "Won deals", "int"),
            Column("revenue", "Revenue", "money"),
            Column("reactivated", "From reactivated leads", "pct"),
            Column("old", "From leads first seen 9+ months before the win", "pct"),
        ),
        rows=(
            {
                "currency": v.currency,
                "won": v.won_deals,
                "revenue": v.revenue,
                "reactivated": v.reactivated_share,
                "old": v.old_share,
            },
        )
        if v.won_deals
        else (),
        note="The “dead lead” claim measured on your own deals: the share of won revenue that came "
        "back from nurture, and from leads older than nine months.",
        empty="No deal was won in the period.",
    )


def roi_panel(session: Session, view: View) -> Panel:
    rows = roi.roi_report(session, now=view.now, filters=view.filters, money=view.ask.money)
    return Panel(
        id="roi",
        title="Campaign ROI",
        columns=(
            Column("campaign", "Campaign"),
            Column("cost", "Cost", "money"),
            Column("leads", "Leads", "int"),
            Column("mql", "MQL", "int"),
            Column("opportunity", "Opportunities", "int"),
            Column("won", "Won", "int"),
            Column("per_lead", "Cost per lead", "money"),
            Column("per_won", "Cost per won deal", "money"),
            Column("pipeline", "Pipeline influenced", "money"),
            Column("revenue", "Revenue influenced", "money"),
            Column("roi", "ROI", "pct"),
            Column("currency", "Currency"),
        ),
        rows=tuple(
            {
                "campaign": r.campaign,
                "cost": r.cost,
                **dict(zip(roi.COUNTED, r.counts, strict=True)),
                "per_lead": r.cost_per("leads"),
                "per_won": r.cost_per("won"),
                "pipeline": r.pipeline,
                "revenue": r.revenue,
                "roi": r.roi,
                "currency": r.currency,
            }
            for r in rows
        ),
        chart=Chart("bar", "campaign", ("cost", "revenue"), horizontal=True),
        note="Cost in the period (prorated over the campaign's dates) against what it influenced; ROI is "
        "(attributed revenue − cost) ÷ cost.",
        links=_links(rows, lambda r: {c: view.drill("roi", r.key, c) for c in roi.COUNTED}),
    )


ATTRIBUTION = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "w_shaped": "W-shaped",
}


def attribution_panel(session: Session, view: View) -> Panel:
    rows = attribution_report(
        session,
        now=view.now,
        models=tuple(ATTRIBUTION),
        by="campaign",
        start=view.start,
        end=view.end,
        campaign=view.filters.campaign,
        window=timedelta(days=180),
        half_life=timedelta(days=7),
        default_currency=view.ask.money.into,
    )
    return Panel(
        id="attribution",
        title="Revenue by campaign, four attribution models",
        columns=(
            Column("campaign", "Campaign"),
            Column("currency", "Currency"),
            *(Column(m, label, "money") for m, label in ATTRIBUTION.items()),
        ),
        rows=tuple(
            {"campaign": r.group, "currency": r.currency, **{m: r.revenue.get(m) for m in ATTRIBUTION}}
            for r in rows
        ),
        chart=Chart("bar", "campaign", tuple(ATTRIBUTION), horizontal=True),
        note="Won revenue closed in the period, credited to the campaigns that touched the account "
        "(every model: `leadloop report attribution`).",
    )


def audit_panel(session: Session, view: View, *, by: str = "source", only: str | None = None) -> Panel:
    rows = audit.audit_report(session, now=view.now, filters=view.filters, by=by, money=view.ask.money)
    if only is not None:
        rows = [r for r in rows if r.key == only]
    measures = ("handed", "accepted", "rejected", "within_sla", "converted", "won")
    return Panel(
        id="audit",
        title="Lead audit: marketing's leads as sales experienced them"
        if only is None
        else "My handed-over leads",
        columns=(
            Column("group", by.title()),
            Column("handed", "Handed over", "int"),
            Column("accepted", "Accepted", "int"),
            Column("rejected", "Rejected", "int"),
            Column("within_sla", "Touched within SLA", "int"),
            Column("converted", "Converted", "int"),
            Column("won", "Won", "int"),
            Column("revenue", "Revenue", "money"),
            Column("currency", "Currency"),
            Column("reasons", "Rejection reasons"),
        ),
        rows=tuple(
            {
                "group": r.group,
                **{m: getattr(r, m) for m in measures},
                "revenue": r.revenue,
                "currency": r.currency,
                "reasons": ", ".join(f"{k} {n}" for k, n in r.reasons),
            }
            for r in rows
        ),
        chart=Chart("stacked", "group", ("accepted", "rejected")),
        links=_links(rows, lambda r: {m: view.drill("audit", r.key, m, by) for m in measures}),
    )


def speed_panel(session: Session, view: View) -> Panel:
    rows = speed.speed_report(session, now=view.now, filters=view.filters)
    return Panel(
        id="speed",
        title="Speed to lead: conversion by first response",
        columns=(
            Column("bucket", "First response"),
            Column("leads", "Leads", "int"),
            Column("sal", "Accepted (SAL)", "int"),
            Column("won", "Won", "int"),
            Column("to_sal", "→ SAL", "pct"),
            Column("to_opportunity", "→ opportunity", "pct"),
            Column("to_won", "→ won", "pct"),
        ),
        rows=tuple(
            {
                "bucket": r.bucket,
                "leads": r.leads,
                "sal": r.sal,
                "won": r.won,
                "to_sal": r.rate("sal"),
                "to_opportunity": r.rate("opportunity"),
                "to_won": r.rate("won"),
            }
            for r in rows
        ),
        chart=Chart("bar", "bucket", ("to_sal", "to_opportunity", "to_won")),
        note="Your own Oldroyd curve: how often a lead went on, by how soon it was first answered.",
        links=_links(rows, lambda r: {m: view.drill("speed", r.bucket, m) for m in ("leads", "sal", "won")}),
    )


def sla_panel(session: Session, view: View, *, only: int | None = None) -> Panel:
    rows = sla.sla_compliance(session, now=view.now, filters=view.filters, by="rep")
    keyed = [(r, _rep_id(r.filters)) for r in rows]
    if only is not None:
        keyed = [(r, k) for r, k in keyed if k == only]
    return Panel(
        id="sla",
        title="Speed-to-lead SLA by rep" if only is None else "My SLA",
        columns=(
            Column("rep", "Rep"),
            Column("assigned", "Assigned", "int"),
            Column("met", "Met", "int"),
            Column("breached", "Breached", "int"),
            Column("running", "Running", "int"),
            Column("within", "Within SLA", "pct"),
            Column("median", "Median to first response", "minutes"),
        ),
        rows=tuple(
            {
                "rep": r.group,
                "assigned": r.assigned,
                "met": r.within_sla,
                "breached": r.missed,
                "running": r.running,
                "within": r.share_within,
                "median": r.median_minutes,
            }
            for r, _k in keyed
        ),
        chart=Chart("stacked", "rep", ("met", "breached", "running")),
        links={
            n: {
                "met": view.drill("sla", str(k), "met"),
                "breached": view.drill("sla", str(k), "breached"),
                "running": view.drill("sla", str(k), "waiting"),
            }
            for n, (_r, k) in enumerate(keyed)
            if k is not None
        },
    )


def _rep_id(filters: str | None) -> int | None:
    """The rep of an SLA row, from the leads-list query it carries (`rep=<id>&days=…`)."""
    for part in (filters or "").split("&"):
        name, _, value = part.partition("=")
        if name == "rep" and value.isdigit():
            return int(value)
    return None


def aging_panel(session: Session, view: View, *, only: str | None = None) -> Panel:
    rows = sla.aging_report(session, now=view.now, filters=view.filters)
    if only is not None:
        rows = [r for r in rows if r.key == only]
    keys = tuple(f"age{n}" for n in range(len(sla.AGES)))
    return Panel(
        id="aging",
        title="Open leads by age and owner" if only is None else "My open leads by age",
        columns=(
            Column("owner", "Owner"),
            *(Column(k, label, "int") for k, label in zip(keys, sla.AGES, strict=True)),
            Column("open", "Open", "int"),
            Column("oldest", "Oldest", "days"),
        ),
        rows=tuple(
            {
                "owner": r.owner,
                **dict(zip(keys, r.ages, strict=True)),
                "open": r.open,
                "oldest": r.oldest_days,
            }
            for r in rows
        ),
        chart=Chart("stacked", "owner", keys, horizontal=True),
        links=_links(
            rows,
            lambda r: {
                "open": view.drill("aging", r.key),
                **{k: view.drill("aging", r.key, age) for k, age in zip(keys, sla.AGES, strict=True)},
            },
        ),
    )


def forecast_panel(session: Session, view: View) -> Panel:
    f = forecast.forecast(session, now=view.now, filters=view.filters, money=view.ask.money)
    return Panel(
        id="forecast",
        title=f"Forecast by close month ({f.currency})",
        columns=(
            Column("month", "Close month"),
            Column("deals", "Open deals", "int"),
            Column("open", "Open amount", "money"),
            Column("weighted", "Weighted by win rate", "money"),
            Column("last_year", "Won a year earlier", "money"),
        ),
        rows=tuple(
            {
                "month": r.month,
                "deals": r.open_deals,
                "open": r.open_amount,
                "weighted": r.weighted,
                "last_year": r.last_year_won,
            }
            for r in f.rows
        ),
        chart=Chart("bar", "month", ("weighted", "last_year")),
        note="Open pipeline × the historical win rate of its stage, beside what was won in the same month "
        "a year earlier.",
        empty="No open opportunity.",
    )


def backtest_panel(session: Session, view: View) -> Panel:
    b = forecast.forecast(session, now=view.now, filters=view.filters, money=view.ask.money).backtest
    return Panel(
        id="backtest",
        title="How good was last quarter's forecast?",
        columns=(
            Column("made", "Made at"),
            Column("deals", "Pipeline deals", "int"),
            Column("predicted", "Predicted", "money"),
            Column("actual", "Won from that pipeline", "money"),
            Column("all", "Won in the quarter", "money"),
        ),
        rows=(
            {
                "made": b.made_at.date(),
                "deals": b.pipeline_deals,
                "predicted": b.predicted,
                "actual": b.actual_from_pipeline,
                "all": b.actual_all,
            },
        ),
        note="The forecast as it would have been made at the start of last quarter, against what happened.",
    )


def capacity_panel(session: Session, view: View) -> Panel:
    c = capacity.capacity_report(
        session, now=view.now, filters=view.filters, money=view.ask.money, config=view.ask.config
    )
    return Panel(
        id="capacity",
        title=f"First response as load grows (capacity {c.config.leads_per_week} leads a rep a week)",
        columns=(
            Column("band", "Load"),
            Column("weeks", "Rep weeks", "int"),
            Column("leads", "Leads", "int"),
            Column("median", "Median first response", "minutes"),
            Column("within", "Within SLA", "int"),
        ),
        rows=tuple(
            {
                "band": b.band,
                "weeks": b.rep_weeks,
                "leads": b.leads,
                "median": b.median_response_minutes,
                "within": b.within_sla,
            }
            for b in c.bands
        ),
        chart=Chart("bar", "band", ("median",)),
        note="When reps are loaded past their capacity, do leads wait longer? If they do, more reps, a "
        "BDR desk or stricter scoring would pay.",
    )


def channel_cost_panel(session: Session, view: View) -> Panel:
    c = capacity.capacity_report(
        session, now=view.now, filters=view.filters, money=view.ask.money, config=view.ask.config
    )
    k = c.config
    return Panel(
        id="channel_cost",
        title="Cost of handling a lead, by channel",
        columns=(
            Column("channel", "Channel"),
            Column("leads", "Leads", "int"),
            Column("touches", "Sales touches", "int"),
            Column("cost", "Handling cost", "money"),
            Column("per_lead", "Per lead", "money"),
            Column("per_won", "Per won deal", "money"),
            Column("revenue", "Revenue", "money"),
            Column("currency", "Currency"),
        ),
        rows=tuple(
            {
                "channel": r.channel,
                "leads": r.leads,
                "touches": r.sales_touches,
                "cost": r.handling_cost,
                "per_lead": r.cost_per_lead,
                "per_won": r.cost_per_won,
                "revenue": r.revenue,
                "currency": r.currency,
            }
            for r in c.channels
        ),
        note=f"{k.minutes_per_touch} minutes a touch and {k.minutes_per_lead} a lead at {k.cost_per_hour} an hour "
        "(settings: LEADLOOP_MINUTES_PER_TOUCH, LEADLOOP_MINUTES_PER_LEAD, LEADLOOP_REP_COST_PER_HOUR).",
    )


def my_sla_panel(session: Session, view: View) -> Panel:
    return sla_panel(session, view, only=view.user_id)


def my_aging_panel(session: Session, view: View) -> Panel:
    return aging_panel(session, view, only=f"user:{view.user_id}")


def my_audit_panel(session: Session, view: View) -> Panel:
    return audit_panel(session, view, by="rep", only=f"user:{view.user_id}")


PANELS: dict[str, tuple[Builder, ...]] = {
    "marketing": (funnel_panel, roi_panel, attribution_panel, audit_panel, speed_panel, revenue_share_panel),
    "manager": (
        sla_panel,
        aging_panel,
        forecast_panel,
        backtest_panel,
        capacity_panel,
        channel_cost_panel,
        funnel_panel,
    ),
    "rep": (my_sla_panel, my_aging_panel, my_audit_panel),
}


def panel_id(builder: Builder) -> str:
    return builder.__name__.removeprefix("my_").removesuffix("_panel")


def build(session: Session, board: str, view: View, *, only: str | None = None) -> list[Panel]:
    """The board's panels; `only` builds just the panel of that id (a CSV of one table)."""
    builders = PANELS[board]
    if only is not None:
        builders = tuple(b for b in builders if panel_id(b) == only)
    return [_built(b, session, view) for b in builders]


def _built(builder: Builder, session: Session, view: View) -> Panel:
    """One panel; a report that refuses (amounts in two currencies without a rate) fails its own
    panel with its sentence, not the whole board."""
    try:
        return builder(session, view)
    except InvalidInput as exc:
        name = panel_id(builder)
        return Panel(id=name, title=name.replace("_", " ").capitalize(), columns=(), rows=(), error=str(exc))
