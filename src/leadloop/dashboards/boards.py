"""Which panels each role's dashboard shows: marketing (funnel, ROI, attribution, lead audit, speed
to lead), manager (SLA, aging, forecast, capacity, team funnel), a rep's own numbers. The panels are
built from the reports of `leadloop.analytics` (the CLI's `leadloop report …` and `/api/v1/reports/…`
print the same reports) in marketing.py and manager.py; this module only lists them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from leadloop.core.errors import InvalidInput
from leadloop.dashboards.manager import (
    aging_panel,
    backtest_panel,
    capacity_panel,
    channel_cost_panel,
    forecast_panel,
    sla_panel,
)
from leadloop.dashboards.marketing import (
    attribution_panel,
    audit_panel,
    funnel_panel,
    revenue_share_panel,
    roi_panel,
    speed_panel,
)
from leadloop.dashboards.panel import Panel
from leadloop.dashboards.view import Builder, View

BOARDS = ("marketing", "manager", "rep")
TITLES = {"marketing": "Marketing dashboard", "manager": "Manager dashboard", "rep": "My numbers"}


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
