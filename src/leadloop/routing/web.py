"""Routing in the browser and the API: the rep's inbox (accept, reject with a reason, log a call),
the manager's team view, the SLA report, the routing audit, and the rule-set admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput
from leadloop.core.yamldoc import problems_of
from leadloop.routing import admin, views
from leadloop.routing.document import parse_rules
from leadloop.routing.handlers import accept, log_call, reject
from leadloop.routing.report import GROUPS, rejection_report, sla_report
from leadloop.routing.repository import active_rules
from leadloop.store.tables import Lead, RoutingRuleSet, User
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Manager, Staff

router = APIRouter()
MAX_DOCUMENT = 200_000


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
def accept_row(request: Request, ctx: Ctx, who: Staff, lead_id: int) -> Response:
    with ctx.db.write() as session:
        accept(session, lead_id, _user(session, who), now=ctx.clock())
    return _row(request, ctx, who.user_id, lead_id, "Accepted")


@router.post("/leads/{lead_id}/reject", response_class=HTMLResponse, include_in_schema=False)
def reject_row(
    request: Request,
    ctx: Ctx,
    who: Staff,
    lead_id: int,
    reason: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    with ctx.db.write() as session:
        reject(session, lead_id, _user(session, who), reason, now=ctx.clock(), note=note)
    return _row(request, ctx, who.user_id, lead_id, f"Rejected ({reason}); back with marketing")


@router.post("/leads/{lead_id}/call", response_class=HTMLResponse, include_in_schema=False)
def call_row(
    request: Request,
    ctx: Ctx,
    who: Staff,
    lead_id: int,
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    _log_call(ctx, lead_id, who, note)
    return _row(request, ctx, who.user_id, lead_id, "Call logged")


@router.post("/api/v1/leads/{lead_id}/accept", tags=["routing"])
def accept_api(ctx: Ctx, who: Staff, lead_id: int) -> dict[str, Any]:
    """The owner accepts the lead (SAL)."""
    with ctx.db.write() as session:
        lead = accept(session, lead_id, _user(session, who), now=ctx.clock())
        return {"id": lead.id, "stage": lead.stage, "accepted_at": lead.accepted_at}


@router.post("/api/v1/leads/{lead_id}/reject", tags=["routing"])
def reject_api(
    ctx: Ctx,
    who: Staff,
    lead_id: int,
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
    ctx: Ctx, who: Staff, lead_id: int, body: Annotated[dict[str, str] | None, Body()] = None
) -> dict[str, Any]:
    """Log a call on the lead (its first touch, if none yet)."""
    _log_call(ctx, lead_id, who, (body or {}).get("note"))
    with ctx.db.read() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return {"id": lead_id, "first_touch_at": lead.first_touch_at}


@router.get("/team", response_class=HTMLResponse, include_in_schema=False)
def team_page(request: Request, ctx: Ctx, who: Manager) -> Response:
    with ctx.db.read() as session:
        rows = views.team(session, now=ctx.clock())
    return ctx.templates.TemplateResponse(request, "team.html", {"rows": rows})


@router.get("/api/v1/team", tags=["routing"])
def team_api(ctx: Ctx, who: Manager) -> list[dict[str, Any]]:
    """Each rep's load: open leads, assigned in the last 24 h, waiting for a first touch, breached."""
    with ctx.db.read() as session:
        return [r.__dict__ for r in views.team(session, now=ctx.clock())]


def _sla(ctx: AppContext, by: str, days: int) -> dict[str, Any]:
    if by not in GROUPS:
        raise InvalidInput(f"group by one of {', '.join(GROUPS)}, not {by!r}")
    now = ctx.clock()
    with ctx.db.read() as session:
        rows = sla_report(session, since=now - timedelta(days=days), now=now, by=by)
        rejections = rejection_report(session, since=now - timedelta(days=days))
    return {"by": by, "days": days, "rows": rows, "rejections": rejections}


@router.get("/reports/sla", response_class=HTMLResponse, include_in_schema=False)
def sla_page(request: Request, ctx: Ctx, who: Manager, by: str = "rep", days: int = 30) -> Response:
    return ctx.templates.TemplateResponse(request, "sla_report.html", _sla(ctx, by, max(1, min(days, 3650))))


@router.get("/api/v1/reports/sla", tags=["routing"])
def sla_api(ctx: Ctx, who: Manager, by: str = "rep", days: int = 30) -> dict[str, Any]:
    """Time to first touch (median, p90) and the share within SLA, by rep, team, source or grade."""
    data = _sla(ctx, by, max(1, min(days, 3650)))
    return {
        **data,
        "rows": [{**r.__dict__, "share_within": r.share_within} for r in data["rows"]],
        "rejections": [r.__dict__ for r in data["rejections"]],
    }


# Rule-set admin


def _rules_page(
    request: Request, ctx: AppContext, *, text: str | None = None, problems: Any = None, status: int = 200
) -> Response:
    with ctx.db.read() as session:
        rs, active_id = active_rules(session)
        rows = list(session.scalars(sa.select(RoutingRuleSet).order_by(RoutingRuleSet.id.desc())))
        if text is None:
            version = RoutingRuleSet.next_version(session, rs.name, rs.version)
            text = rs.model_copy(update={"version": version}).to_yaml()
    return ctx.templates.TemplateResponse(
        request,
        "routing.html",
        {"rows": rows, "active_id": active_id, "text": text, "problems": problems or []},
        status_code=status,
    )


@router.get("/routing", response_class=HTMLResponse, include_in_schema=False)
def routing_page(request: Request, ctx: Ctx, who: Manager) -> Response:
    return _rules_page(request, ctx)


@router.post("/routing/preview", response_class=HTMLResponse, include_in_schema=False)
def routing_preview(
    request: Request, ctx: Ctx, who: Manager, document: Annotated[str, Form(max_length=MAX_DOCUMENT)] = ""
) -> Response:
    """What-if on the latest routed leads for the text in the editor. Writes nothing."""
    try:
        rs = parse_rules(document)
        with ctx.db.read() as session:
            summary = admin.what_if(session, rs, now=ctx.clock()).summary()
    except InvalidInput as exc:
        return ctx.templates.TemplateResponse(
            request, "_routing_preview.html", {"problems": problems_of(exc)}
        )
    return ctx.templates.TemplateResponse(
        request, "_routing_preview.html", {"summary": summary, "warnings": rs.warnings(), "problems": []}
    )


@router.post("/routing/rulesets", include_in_schema=False)
def routing_save(
    request: Request, ctx: Ctx, who: Manager, document: Annotated[str, Form(max_length=MAX_DOCUMENT)] = ""
) -> Response:
    try:
        with ctx.db.write() as session:
            rid, _warnings = admin.save_draft(session, document, now=ctx.clock())
    except InvalidInput as exc:
        return _rules_page(request, ctx, text=document, problems=problems_of(exc), status=422)
    return RedirectResponse(f"/routing/rulesets/{rid}", status_code=303)


@router.get("/routing/rulesets/{ruleset_id}", response_class=HTMLResponse, include_in_schema=False)
def routing_ruleset(request: Request, ctx: Ctx, who: Manager, ruleset_id: int) -> Response:
    with ctx.db.read() as session:
        row, rs = admin._load(session, ruleset_id)
        summary = None if row.status == "active" else admin.what_if(session, rs, now=ctx.clock()).summary()
    return ctx.templates.TemplateResponse(
        request, "routing_ruleset.html", {"row": row, "summary": summary, "warnings": rs.warnings()}
    )


@router.post("/routing/rulesets/{ruleset_id}/activate", include_in_schema=False)
def routing_activate(ctx: Ctx, who: Manager, ruleset_id: int) -> Response:
    with ctx.db.write() as session:
        admin.activate(session, ruleset_id, now=ctx.clock())
    return RedirectResponse(f"/routing/rulesets/{ruleset_id}?activated=1", status_code=303)


@router.get("/api/v1/routing/rulesets", tags=["routing"])
def rulesets_api(ctx: Ctx, who: Manager) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        return [
            {
                "id": r.id,
                "name": r.name,
                "version": r.version,
                "status": r.status,
                "created_at": r.created_at,
                "activated_at": r.activated_at,
            }
            for r in session.scalars(sa.select(RoutingRuleSet).order_by(RoutingRuleSet.id))
        ]


@router.post("/api/v1/routing/rulesets", tags=["routing"], status_code=201)
def ruleset_create_api(
    ctx: Ctx,
    who: Manager,
    document: Annotated[
        str, Body(media_type="application/yaml", max_length=MAX_DOCUMENT, description="the rule set as YAML")
    ],
) -> dict[str, Any]:
    """Save a rule set as a draft. 422 lists every problem with its line; warnings come back too."""
    with ctx.db.write() as session:
        rid, warnings = admin.save_draft(session, document, now=ctx.clock())
    return {"id": rid, "status": "draft", "warnings": warnings}


@router.get("/api/v1/routing/rulesets/{ruleset_id}/whatif", tags=["routing"])
def ruleset_whatif_api(ctx: Ctx, who: Manager, ruleset_id: int) -> dict[str, Any]:
    with ctx.db.read() as session:
        _, rs = admin._load(session, ruleset_id)
        return admin.what_if(session, rs, now=ctx.clock()).summary()


@router.post("/api/v1/routing/rulesets/{ruleset_id}/activate", tags=["routing"])
def ruleset_activate_api(ctx: Ctx, who: Manager, ruleset_id: int) -> dict[str, Any]:
    with ctx.db.write() as session:
        admin.activate(session, ruleset_id, now=ctx.clock())
    return {"id": ruleset_id, "status": "active"}
