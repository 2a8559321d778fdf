"""The dashboards' pages, their CSVs and the leads behind a number: thin, read the filters, ask
boards.py (or the analytics drill-down), render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadloop.analytics import cube
from leadloop.analytics.drill import DRILLABLE, leads_behind
from leadloop.analytics.filters import ReportFilters, resolve
from leadloop.analytics.shapes import ask_for
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.dashboards.boards import BOARDS, TITLES, build
from leadloop.dashboards.panel import chart_config, csv_rows, describe
from leadloop.dashboards.view import View
from leadloop.leads.queries import LeadFilter, list_leads
from leadloop.store.tables import Campaign, Segment, Team
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Page, Staff, viewer_scope
from leadloop.web.listing import csv_answer

router = APIRouter()

# Who may open which board. A manager reads marketing's too (the leadership meeting); a rep's board
# is their own numbers, and a manager or admin opening it sees their own.
ACCESS = {
    "marketing": frozenset({Role.MARKETING, Role.MANAGER, Role.ADMIN}),
    "manager": frozenset({Role.MANAGER, Role.ADMIN}),
    "rep": frozenset({Role.REP, Role.BDR, Role.MANAGER, Role.ADMIN}),
}
HOME = {Role.MARKETING: "marketing", Role.MANAGER: "manager", Role.ADMIN: "marketing"}
DEFAULT_DAYS = 90
MAX_DRILL = 5000  # leads listed behind one number; more are counted, not listed
Board = Annotated[str, Path(pattern="^(marketing|manager|rep)$")]
Day = Annotated[date | None, Query()]
Name = Annotated[str | None, Query(max_length=300)]


def boards_for(role: Role) -> list[str]:
    return [b for b in BOARDS if role in ACCESS[b]]


def _filters(
    ctx: AppContext,
    start: date | None,
    end: date | None,
    campaign: str | None,
    segment: str | None,
    team: str | None,
    product: str | None,
) -> ReportFilters:
    """The period (the last 90 days unless given) and the other filters; empty means any."""
    last = end or ctx.clock().date()
    first = start or min(last, ctx.clock().date()) - timedelta(days=DEFAULT_DAYS - 1)
    return ReportFilters(first, last, campaign or None, segment or None, team or None, product or None)


def _view(ctx: AppContext, who: Principal, filters: ReportFilters) -> View:
    assert filters.start is not None and filters.end is not None
    ask = ask_for(ctx.settings, now=ctx.clock(), filters=filters)
    return View(ask=ask, user_id=who.user_id, start=filters.start, end=filters.end)


def _check(who: Principal, board: str) -> None:
    if who.role not in ACCESS[board]:
        raise NotFound(f"no {board} dashboard for a {who.role.value}")


def _choices(session: Session) -> dict[str, list[str]]:
    """What each filter offers: live campaigns, segments and teams by name, the products in use."""
    return {
        "campaigns": list(session.scalars(sa.select(Campaign.name).order_by(Campaign.name)).all()),
        "segments": list(
            session.scalars(
                sa.select(Segment.name).where(Segment.archived_at.is_(None)).order_by(Segment.name)
            )
        ),
        "teams": list(session.scalars(sa.select(Team.name).order_by(Team.name)).all()),
        "products": cube.products(session),
    }


@router.get("/dashboards", include_in_schema=False)
def dashboards(who: Staff) -> Response:
    return RedirectResponse(f"/dashboards/{HOME.get(who.role, 'rep')}", status_code=303)


@router.get("/dashboards/leads", response_class=HTMLResponse, include_in_schema=False)
def leads_behind_page(
    request: Request,
    ctx: Ctx,
    who: Staff,
    report: Annotated[str, Query(max_length=20)],
    key: Annotated[str, Query(max_length=200)],
    measure: Annotated[str | None, Query(max_length=20)] = None,
    by: Annotated[str | None, Query(max_length=20)] = None,
    start: Annotated[Day, Query(alias="from")] = None,
    end: Annotated[Day, Query(alias="to")] = None,
    campaign: Name = None,
    segment: Name = None,
    team: Name = None,
    product: Name = None,
    page: Page = 1,
) -> Response:
    """The leads behind one number of a dashboard, as far as the viewer may see them."""
    filters = _filters(ctx, start, end, campaign, segment, team, product)
    now = ctx.clock()
    with ctx.db.read() as session:
        ids = leads_behind(session, report, now=now, filters=filters, key=key, by=by, measure=measure)
        shown = list_leads(
            session,
            LeadFilter(ids=tuple(ids[:MAX_DRILL]), sort="last_activity", page=page, per_page=50),
            now=now,
            scope=viewer_scope(session, ctx, who),
        )
    context: dict[str, Any] = {
        "report": report,
        "key": key,
        "measure": measure,
        "behind": len(ids),
        "page": shown,
        "hidden": min(len(ids), MAX_DRILL) - shown.total,
        "cut": max(0, len(ids) - MAX_DRILL),
        "filters": filters,
        "query": request.url.query,
    }
    return ctx.templates.TemplateResponse(request, "dashboard_leads.html", context)


@router.get("/dashboards/{board}", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request,
    ctx: Ctx,
    who: Staff,
    board: Board,
    start: Annotated[Day, Query(alias="from")] = None,
    end: Annotated[Day, Query(alias="to")] = None,
    campaign: Name = None,
    segment: Name = None,
    team: Name = None,
    product: Name = None,
) -> Response:
    _check(who, board)
    filters = _filters(ctx, start, end, campaign, segment, team, product)
    view = _view(ctx, who, filters)
    with ctx.db.read() as session:
        resolve(session, filters)  # a bad filter is one sentence before any panel is read
        panels = build(session, board, view)
        choices = _choices(session)
    context: dict[str, Any] = {
        "board": board,
        "title": TITLES[board],
        "boards": [(b, TITLES[b]) for b in boards_for(who.role)],
        "panels": [(p, chart_config(p), describe(p)) for p in panels],
        "filters": filters,
        "choices": choices,
        "query": view.query(),
        "drillable": DRILLABLE,
    }
    return ctx.templates.TemplateResponse(request, "dashboard.html", context)


@router.get("/dashboards/{board}/{panel_id}.csv", include_in_schema=False)
def dashboard_csv(
    request: Request,
    ctx: Ctx,
    who: Staff,
    board: Board,
    panel_id: Annotated[str, Path(pattern="^[a-z_]{1,40}$")],
    start: Annotated[Day, Query(alias="from")] = None,
    end: Annotated[Day, Query(alias="to")] = None,
    campaign: Name = None,
    segment: Name = None,
    team: Name = None,
    product: Name = None,
) -> Response:
    _check(who, board)
    filters = _filters(ctx, start, end, campaign, segment, team, product)
    view = _view(ctx, who, filters)
    with ctx.db.read() as session:
        resolve(session, filters)
        panels = build(session, board, view, only=panel_id)
    if not panels:
        raise NotFound(f"the {board} dashboard has no panel {panel_id!r}")
    if panels[0].error:
        raise InvalidInput(panels[0].error)
    header, rows = csv_rows(panels[0])
    return csv_answer(ctx, who, request, f"{board}-{panel_id}", header, lambda _session: rows)
