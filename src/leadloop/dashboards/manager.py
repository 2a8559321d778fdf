"""The sales manager's panels: SLA, aging, forecast and its backtest, capacity, handling cost.
Each shapes one report of `leadloop.analytics` into a table and a chart; no figure is computed here."""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Session

from leadloop.analytics import capacity, forecast, sla
from leadloop.analytics.forecast_rules import Forecast
from leadloop.dashboards.panel import Chart, Column, Panel
from leadloop.dashboards.view import View, links_of


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
        links=links_of(
            rows,
            lambda r: {
                "open": view.drill("aging", r.key),
                **{k: view.drill("aging", r.key, age) for k, age in zip(keys, sla.AGES, strict=True)},
            },
        ),
    )


def _forecast(session: Session, view: View) -> Forecast:
    """The forecast behind both its panels, computed once per board."""
    return cast(
        Forecast,
        view.once(
            "forecast",
            lambda: forecast.forecast(session, now=view.now, filters=view.filters, money=view.ask.money),
        ),
    )


def forecast_panel(session: Session, view: View) -> Panel:
    f = _forecast(session, view)
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
        note=(f"{f.note[0].upper()}{f.note[1:]}. " if f.note else "")
        + "Open pipeline by expected close month × the historical win rate of its stage, beside what "
        "was won in the same month a year earlier.",
        empty="No open opportunity.",
    )


def backtest_panel(session: Session, view: View) -> Panel:
    b = _forecast(session, view).backtest
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
