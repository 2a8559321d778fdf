"""Marketing's panels: funnel, ROI, attribution, lead audit, speed to lead, revenue from old leads.
Each shapes one report of `leadloop.analytics` into a table and a chart; no figure is computed here."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from leadloop.analytics import audit, funnel, roi, speed
from leadloop.analytics.attribution_report import attribution_report
from leadloop.analytics.facts_model import STAGES
from leadloop.dashboards.panel import Chart, Column, Panel
from leadloop.dashboards.view import View, links_of

STAGE_LABELS = {
    "inquiry": "Inquiry",
    "mql": "MQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}


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
        links=links_of(
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
            Column("attributed", "Revenue attributed (linear)", "money"),
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
                "attributed": r.attributed,
                "roi": r.roi,
                "currency": r.currency,
            }
            for r in rows
        ),
        chart=Chart("bar", "campaign", ("cost", "revenue"), horizontal=True),
        note="Cost in the period (prorated over the campaign's dates: a campaign that ran outside it costs "
        "nothing here) against what it influenced; ROI is (attributed revenue − cost) ÷ cost, the "
        "attributed revenue being its linear share of each won deal it touched.",
        links=links_of(rows, lambda r: {c: view.drill("roi", r.key, c) for c in roi.COUNTED}),
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
        links=links_of(rows, lambda r: {m: view.drill("audit", r.key, m, by) for m in measures}),
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
        links=links_of(
            rows, lambda r: {m: view.drill("speed", r.bucket, m) for m in ("leads", "sal", "won")}
        ),
    )
