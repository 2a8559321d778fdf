"""The dashboards' pages and their CSVs: thin, read the period, ask boards.py, render."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.dashboards.boards import BOARDS, TITLES, View, build
from leadloop.dashboards.panel import chart_config, csv_rows, describe
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Staff, viewer_scope
from leadloop.web.listing import csv_answer

router = APIRouter()

# Who may open which board. A manager reads marketing's too (the leadership meeting); a rep's board
# is theirs alone, and a manager or admin opening it sees their own numbers.
ACCESS = {
    "marketing": frozenset({Role.MARKETING, Role.MANAGER, Role.ADMIN}),
    "manager": frozenset({Role.MANAGER, Role.ADMIN}),
    "rep": frozenset({Role.REP, Role.BDR, Role.MANAGER, Role.ADMIN}),
}
HOME = {Role.MARKETING: "marketing", Role.MANAGER: "manager", Role.ADMIN: "marketing"}
DEFAULT_DAYS = 90
Board = Annotated[str, Path(pattern="^(marketing|manager|rep)$")]
Day = Annotated[date | None, Query()]


def boards_for(role: Role) -> list[str]:
    return [b for b in BOARDS if role in ACCESS[b]]


def view_of(ctx: AppContext, who: Principal, board: str, start: date | None, end: date | None) -> View:
    if who.role not in ACCESS[board]:
        raise NotFound(f"no {board} dashboard for a {who.role.value}")
    now = ctx.clock()
    last = end or now.date()
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidInput(f"the period ends ({last}) before it starts ({first}); swap the two dates")
    with ctx.db.read() as session:
        if board == "rep":
            users: frozenset[int] | None = frozenset({who.user_id})
        else:
            scope = viewer_scope(session, ctx, who)
            users = None if scope.everything else scope.users
    return View(
        now=now,
        start=datetime.combine(first, time.min, tzinfo=UTC),
        end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
        user_id=who.user_id,
        users=users,
        default_currency=ctx.settings.default_currency,
    )


@router.get("/dashboards", include_in_schema=False)
def dashboards(who: Staff) -> Response:
    return RedirectResponse(f"/dashboards/{HOME.get(who.role, 'rep')}", status_code=303)


@router.get("/dashboards/{board}", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(
    request: Request,
    ctx: Ctx,
    who: Staff,
    board: Board,
    start: Annotated[Day, Query(alias="from")] = None,
    end: Annotated[Day, Query(alias="to")] = None,
) -> Response:
    view = view_of(ctx, who, board, start, end)
    with ctx.db.read() as session:
        panels = build(session, board, view)
    context: dict[str, Any] = {
        "board": board,
        "title": TITLES[board],
        "boards": [(b, TITLES[b]) for b in boards_for(who.role)],
        "panels": [(p, chart_config(p), describe(p)) for p in panels],
        "start": view.start.date(),
        "end": (view.end - timedelta(days=1)).date(),
        "query": request.url.query,
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
) -> Response:
    view = view_of(ctx, who, board, start, end)
    with ctx.db.read() as session:
        panels = build(session, board, view, only=panel_id)
    if not panels:
        raise NotFound(f"the {board} dashboard has no panel {panel_id!r}")
    panel = panels[0]
    header, rows = csv_rows(panel)
    return csv_answer(ctx, who, request, f"{board}-{panel_id}", header, lambda _session: rows)
