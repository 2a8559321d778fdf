"""Which panels each role's dashboard shows, read from the reports that own the figures.

Marketing: funnel, ROI, attribution. Manager: SLA, aging, forecast, team. Rep: my numbers. A panel
is built by one function from one report; this module only shapes report rows into tables and
charts, it never computes a figure of its own (the CLI and the API print the same reports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadloop.analytics.attribution_report import attribution_report
from leadloop.dashboards.panel import Chart, Column, Panel
from leadloop.routing.report import funnel, sla_report

BOARDS = ("marketing", "manager", "rep")
TITLES = {"marketing": "Marketing dashboard", "manager": "Manager dashboard", "rep": "My numbers"}


@dataclass(frozen=True)
class View:
    """Who is looking and at what: the period and the viewer's reach (None: everyone)."""

    now: datetime
    start: datetime
    end: datetime
    user_id: int
    users: frozenset[int] | None  # the reps the viewer may see; None is everyone
    default_currency: str = "EUR"


Builder = Callable[[Session, View], Panel]


def funnel_panel(session: Session, view: View) -> Panel:
    stages = funnel(session, since=view.start)
    return Panel(
        id="funnel",
        title="Funnel: leads reaching each stage",
        columns=(Column("stage", "Stage"), Column("leads", "Leads", "int")),
        rows=tuple({"stage": s, "leads": n} for s, n in stages),
        chart=Chart("bar", "stage", ("leads",), horizontal=True),
        note="A lead counts once for each stage it reached in the period.",
    )


def attribution_panel(session: Session, view: View) -> Panel:
    models = ("first_touch", "last_touch", "linear", "w_shaped")
    rows = attribution_report(
        session,
        now=view.now,
        models=models,
        by="campaign",
        start=view.start.date(),
        end=view.end.date(),
        campaign=None,
        window=timedelta(days=180),
        half_life=timedelta(days=7),
        default_currency=view.default_currency,
    )
    labels = {
        "first_touch": "First touch",
        "last_touch": "Last touch",
        "linear": "Linear",
        "w_shaped": "W-shaped",
    }
    return Panel(
        id="attribution",
        title="Revenue by campaign, four attribution models",
        columns=(
            Column("campaign", "Campaign"),
            Column("currency", "Currency"),
            *(Column(m, labels[m], "money") for m in models),
        ),
        rows=tuple(
            {"campaign": r.group, "currency": r.currency, **{m: r.revenue.get(m) for m in models}}
            for r in rows
        ),
        chart=Chart("bar", "campaign", models, horizontal=True),
        note="Won revenue closed in the period, credited to the campaigns that touched the account.",
    )


def sla_panel(session: Session, view: View) -> Panel:
    rows = sla_report(session, since=view.start, now=view.now, by="rep", users=view.users)
    return Panel(
        id="sla",
        title="Speed-to-lead SLA by rep",
        columns=(
            Column("rep", "Rep"),
            Column("assigned", "Assigned", "int"),
            Column("met", "Met", "int"),
            Column("breached", "Breached", "int"),
            Column("median", "Median to first response", "minutes"),
        ),
        rows=tuple(
            {
                "rep": r.group,
                "assigned": r.assigned,
                "met": r.within_sla,
                "breached": r.missed,
                "median": r.median_minutes,
            }
            for r in rows
        ),
        chart=Chart("stacked", "rep", ("met", "breached")),
        links={
            n: {
                "assigned": f"/leads?{r.filters}",
                "met": f"/leads?{r.filters}&sla=met",
                "breached": f"/leads?{r.filters}&sla=breached",
            }
            for n, r in enumerate(rows)
            if r.filters
        },
    )


PANELS: dict[str, tuple[Builder, ...]] = {
    "marketing": (funnel_panel, attribution_panel),
    "manager": (sla_panel, funnel_panel),
    "rep": (sla_panel,),
}


def build(session: Session, board: str, view: View, *, only: str | None = None) -> list[Panel]:
    """The board's panels; `only` builds just the panel of that id (a CSV of one table)."""
    builders = PANELS[board]
    if only is not None:
        builders = tuple(b for b in builders if b.__name__ == f"{only}_panel")
    return [b(session, view) for b in builders]
