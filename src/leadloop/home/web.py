"""The home page: each role lands on its own day (a partner on the portal)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.auth.model import Role
from leadloop.home.queries import health, manager_home, pipeline, rep_home
from leadloop.web.deps import AnyUser, Ctx, viewer_scope
from leadloop.work.queries import my_tasks

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, ctx: Ctx, who: AnyUser) -> Response:
    if who.role is Role.PARTNER:
        return RedirectResponse("/partner", status_code=303)
    if who.role is Role.BDR:  # a BDR's day is the qualification desk
        return RedirectResponse("/desk", status_code=303)
    now = ctx.clock()
    context: dict[str, Any] = {"now": now}
    with ctx.db.read() as session:
        if who.role in (Role.REP, Role.MANAGER):
            mine = rep_home(session, who.user_id, now=now)
            # A manager who works leads too sees their own day above the team's.
            context["rep"] = mine if who.role is Role.REP or mine.open_leads else None
            context["tasks"] = my_tasks(session, who.user_id, now=now)  # follow-ups due (the workbench)
        if who.role in (Role.MANAGER, Role.ADMIN):
            context["team"] = manager_home(session, viewer_scope(session, ctx, who), now=now)
        if who.role in (Role.MARKETING, Role.ADMIN):
            context["pipeline"] = pipeline(session, now=now)
        if who.role is Role.ADMIN:
            context["health"] = health(session, now=now, database=True)
    return ctx.templates.TemplateResponse(request, "home.html", context)
