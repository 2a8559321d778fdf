"""Routing in the browser and the API: the rep's inbox (accept, reject with a reason, log a call),
the manager's team view, the SLA report, and the rule-set admin (documents/web.py's pages)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput
from leadloop.documents.web import Pages, document_router
from leadloop.routing import views
from leadloop.routing.handlers import accept, log_call, reject
from leadloop.routing.kind import ROUTING
from leadloop.routing.report import GROUPS, rejection_report, sla_report
from leadloop.routing.repository import active_rules
from leadloop.store.tables import Lead, User
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Days, Id, Manager, Staff, viewer_scope
from leadloop.web.labels import label

router = APIRouter()


def _user(session: Session, who: Principal) -> User:
    user = session.get(User, who.user_id)
    assert user is not None
    return user


def _row(
    request: Request, ctx: AppContext, user_id: int, lead_id: int, message: str | None = None
) -> Response:
    with ctx.db.read() as session:
        rows = views.inbox(session, user_id, now=ctx.clock(), lead_id=lead_id)
        reasons = active_rules(session)[0].reject_reasons
    return ctx.templates.TemplateResponse(
        request,
        "_inbox_row.html",
        {
            "r": rows[0] if rows else None,
            "lead_id": lead_id,
            "message": message,
            "reasons": reasons,
            "now": ctx.clock(),
        },
    )


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(request: Request, ctx: Ctx, who: Staff) -> Response:
    with ctx.db.read() as session:
        rows = views.inbox(session, who.user_id, now=ctx.clock())
        reasons = active_rules(session)[0].reject_reasons
    return ctx.templates.TemplateResponse(
        request, "inbox.html", {"rows": rows, "reasons": reasons, "now": ctx.clock()}
    )


@router.get("/api/v1/inbox", tags=["routing"])
def inbox_api(ctx: Ctx, who: Staff) -> list[dict[str, Any]]:
    """My open leads, hottest first, with their SLA deadlines."""
    with ctx.db.read() as session:
        return [r.__dict__ for r in views.inbox(session, who.user_id, now=ctx.clock())]


def _log_call(ctx: AppContext, lead_id: int, who: Principal, note: str | None) -> None:
    with ctx.db.write() as session:
        log_call(session, lead_id, _user(session, who), now=ctx.clock(), note=note)


@router.post("/leads/{lead_id}/accept", response_class=HTMLResponse, include_in_schema=False)
def accept_row(request: Request, ctx: Ctx, who: Staff, lead_id: Id) -> Response:
    with ctx.db.write() as session:
        accept(session, lead_id, _user(session, who), now=ctx.clock())
    return _row(request, ctx, who.user_id, lead_id, "Accepted")


@router.post("/leads/{lead_id}/reject", response_class=HTMLResponse, include_in_schema=False)
def reject_row(
    request: Request,
    ctx: Ctx,
    who: Staff,
    lead_id: Id,
    reason: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    with ctx.db.write() as session:
        reject(session, lead_id, _user(session, who), reason, now=ctx.clock(), note=note)
    message = f"Rejected: {label(reason, 'reason').lower()}; back with marketing"
    return _row(request, ctx, who.user_id, lead_id, message)


@router.post("/leads/{lead_id}/call", response_class=HTMLResponse, include_in_schema=False)
def call_row(
    request: Request,
    ctx: Ctx,
    who: Staff,
    lead_id: Id,
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    _log_call(ctx, lead_id, who, note)
    return _row(request, ctx, who.user_id, lead_id, "Call logged")


@router.post("/api/v1/leads/{lead_id}/accept", tags=["routing"])
def accept_api(ctx: Ctx, who: Staff, lead_id: Id) -> dict[str, Any]:
    """The owner accepts the lead (SAL)."""
    with ctx.db.write() as session:
        lead = accept(session, lead_id, _user(session, who), now=ctx.clock())
        return {"id": lead.id, "stage": lead.stage, "accepted_at": lead.accepted_at}


@router.post("/api/v1/leads/{lead_id}/reject", tags=["routing"])
def reject_api(
    ctx: Ctx,
    who: Staff,
    lead_id: Id,
    body: Annotated[dict[str, str], Body(examples=[{"reason": "no_budget"}])],
) -> dict[str, Any]:
    """The owner rejects the lead with a reason code; it returns to marketing's nurture queue."""
    with ctx.db.write() as session:
        lead = reject(
            session,
            lead_id,
            _user(session, who),
            body.get("reason", ""),
            now=ctx.clock(),
            note=body.get("note"),
        )
        return {"id": lead.id, "stage": lead.stage, "rejected_reason": lead.rejected_reason}


@router.post("/api/v1/leads/{lead_id}/calls", tags=["routing"], status_code=201)
def call_api(
    ctx: Ctx, who: Staff, lead_id: Id, body: Annotated[dict[str, str] | None, Body()] = None
) -> dict[str, Any]:
    """Log a call on the lead (its first touch, if none yet)."""
    _log_call(ctx, lead_id, who, (body or {}).get("note"))
    with ctx.db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return {"id": lead_id, "first_touch_at": lead.first_touch_at}


def _people_seen(session: Session, ctx: AppContext, who: Principal) -> frozenset[int] | None:
    """Whose numbers a manager sees: their own, their team's and their reports' (admins: everyone's)."""
    scope = viewer_scope(session, ctx, who)
    return None if scope.everything else scope.users


@router.get("/team", response_class=HTMLResponse, include_in_schema=False)
def team_page(request: Request, ctx: Ctx, who: Manager) -> Response:
    with ctx.db.read() as session:
        rows = views.team(session, now=ctx.clock(), users=_people_seen(session, ctx, who))
    return ctx.templates.TemplateResponse(request, "team.html", {"rows": rows})


@router.get("/api/v1/team", tags=["routing"])
def team_api(ctx: Ctx, who: Manager) -> list[dict[str, Any]]:
    """Each rep's load: open leads, assigned in the last 24 h, waiting for a first touch, breached."""
    with ctx.db.read() as session:
        return [
            r.__dict__ for r in views.team(session, now=ctx.clock(), users=_people_seen(session, ctx, who))
        ]


def _sla(ctx: AppContext, who: Principal, by: str, days: int) -> dict[str, Any]:
    if by not in GROUPS:
        raise InvalidInput(f"group by one of {', '.join(GROUPS)}, not {by!r}")
    now = ctx.clock()
    with ctx.db.read() as session:
        users = _people_seen(session, ctx, who)
        rows = sla_report(session, since=now - timedelta(days=days), now=now, by=by, users=users)
        rejections = rejection_report(session, since=now - timedelta(days=days))
    return {"by": by, "days": days, "rows": rows, "rejections": rejections}


@router.get("/reports/sla", response_class=HTMLResponse, include_in_schema=False)
def sla_page(request: Request, ctx: Ctx, who: Manager, by: str = "rep", days: int = 30) -> Response:
    return ctx.templates.TemplateResponse(
        request, "sla_report.html", _sla(ctx, who, by, max(1, min(days, 3650)))
    )


@router.get("/api/v1/reports/sla", tags=["routing"])
def sla_api(ctx: Ctx, who: Manager, by: str = "rep", days: Days = 30) -> dict[str, Any]:
    """Time to first touch (median, p90) and the share within SLA, by rep, team, source or grade."""
    data = _sla(ctx, who, by, max(1, min(days, 3650)))
    return {
        **data,
        "rows": [{**r.__dict__, "share_within": r.share_within} for r in data["rows"]],
        "rejections": [r.__dict__ for r in data["rejections"]],
    }


# The rule-set admin: rule sets as versioned documents, through the documents machine.

RULES_PAGES = Pages(
    kind=ROUTING,
    items="rulesets",
    heading="Routing rules",
    intro="Ordered rules (first match wins), pools (round robin, weighted, load balanced, with daily and "
    "weekly caps), SLA policies in business minutes, and reject reasons. A fallback owner is required.",
    empty="None saved yet: every MQL waits in the Sales inbox queue.",
    preview_button="Try on past leads",
    activate_button="Activate",
    activated="New MQLs are routed with these rules.",
    summary_template="_routing_summary.html",
)
router.include_router(document_router(RULES_PAGES))
