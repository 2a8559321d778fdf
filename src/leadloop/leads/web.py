"""Leads list page (HTMX: the table alone on filter/sort/page) and its JSON twin."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput
from leadloop.leads.queries import (
    EXPORT_HEADER,
    PAGE_SIZES,
    SORTS,
    STAGES,
    LeadFilter,
    LeadsPage,
    assignable,
    export_leads,
    lead_view,
    list_leads,
)
from leadloop.lifecycle import history
from leadloop.lifecycle.journey import journey
from leadloop.routing.clock import SLA_FILTERS, lead_clock
from leadloop.routing.views import audit as routing_audit
from leadloop.scoring.explain import lead_score
from leadloop.scoring.predictive_status import prediction_off
from leadloop.scoring.repository import active_model
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Page, PerPage, Staff, viewer_scope
from leadloop.web.listing import csv_answer, filter_from, list_context, ticked
from leadloop.work.queries import lead_page_context

router = APIRouter()
# The SLA filter's companions: whose clock (a user id), and assigned in the last N days.
SlaRep = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
SlaDays = Annotated[int | None, Query(ge=1, le=3650)]


def _filter(
    q: str | None = None,
    stage: str | None = None,
    product: str | None = None,
    owner: str | None = None,
    sort: str = "priority",
    dir: str = "desc",
    page: int = 1,
    per_page: int = 25,
    sla: str | None = None,
    rep: int | None = None,
    days: int | None = None,
    rep_team: int | None = None,
    segment: int | None = None,
) -> LeadFilter:
    return LeadFilter(
        q,
        stage or None,
        product or None,
        owner or None,
        sort,
        dir,
        page,
        per_page,
        sla or None,
        rep,
        days,
        rep_team,
        segment,
    ).clean()


def _sla_problem(sla: str | None) -> str | None:
    """A sentence for an SLA filter value the list does not know (the page ignores it and says so)."""
    if not sla or sla in SLA_FILTERS:
        return None
    return f"There is no SLA filter {sla[:40]!r}; showing every lead. Choose one of: " + ", ".join(
        SLA_FILTERS.values()
    )


def _listing(ctx: AppContext, who: Principal, f: LeadFilter) -> LeadsPage:
    """One page of the leads this person may see, scored as of now: the page and the API alike."""
    with ctx.db.read() as session:
        return list_leads(
            session,
            f,
            now=ctx.clock(),
            half_life_days=active_model(session)[0].engagement.half_life_days,
            scope=viewer_scope(session, ctx, who),
        )


@router.get("/leads", response_class=HTMLResponse, include_in_schema=False)
def leads_page(
    request: Request,
    ctx: Ctx,
    who: Staff,
    q: Annotated[str | None, Query(max_length=200)] = None,
    stage: str | None = None,
    product: str | None = None,
    owner: str | None = None,
    sort: str = "priority",
    dir: str = "desc",
    page: Page = 1,
    per_page: PerPage = 25,
    sla: Annotated[str | None, Query(max_length=40)] = None,
    rep: SlaRep = None,
    days: SlaDays = None,
    rep_team: SlaRep = None,
    segment: Annotated[str | None, Query(max_length=12)] = None,
) -> Any:
    seg = int(segment) if segment and segment.isdigit() else None  # "Any" sends an empty value
    f = _filter(q, stage, product, owner, sort, dir, page, per_page, sla, rep, days, rep_team, seg)
    result = _listing(ctx, who, f)
    template = "_leads_table.html" if request.headers.get("hx-request") else "leads.html"
    with ctx.db.read() as session:
        tools = list_context(request, session, who, "leads", noun="lead", plural="leads")
        assignees = assignable(session, viewer_scope(session, ctx, who)) if tools["may_assign"] else []
    return ctx.templates.TemplateResponse(
        request,
        template,
        {
            "page": result,
            "stages": STAGES,
            "sorts": list(SORTS),
            "who": who,
            **tools,
            "page_sizes": PAGE_SIZES,
            "assignees": assignees,
            "sla_filters": SLA_FILTERS,
            "sla_problem": _sla_problem(sla),
        },
    )


def _export(ctx: AppContext, who: Principal, request: Request, f: LeadFilter, ids: list[int] | None) -> Any:
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
        half_life = active_model(session)[0].engagement.half_life_days
    now = ctx.clock()
    return csv_answer(
        ctx,
        who,
        request,
        "leads",
        EXPORT_HEADER,
        lambda s: export_leads(s, f, now=now, half_life_days=half_life, scope=scope, ids=ids),
        selected=len(ids) if ids is not None else None,
    )


@router.get("/leads.csv", include_in_schema=False)
def leads_export(request: Request, ctx: Ctx, who: Staff) -> Any:
    """A CSV of every lead the list's filters find (the same query string), within one's scope."""
    return _export(ctx, who, request, filter_from(LeadFilter, request).clean(), None)


@router.post("/leads.csv", include_in_schema=False)
async def leads_export_selected(request: Request, ctx: Ctx, who: Staff) -> Any:
    """A CSV of the ticked leads (bulk "Export selected"); ids one may not see are left out."""
    return _export(ctx, who, request, LeadFilter(), await ticked(request, "lead_ids"))


@router.get("/api/v1/leads", tags=["leads"])
def leads_api(
    ctx: Ctx,
    who: Staff,
    q: Annotated[str | None, Query(max_length=200)] = None,
    stage: str | None = None,
    product: str | None = None,
    owner: str | None = None,
    sort: str = "priority",
    dir: str = "desc",
    page: Page = 1,
    per_page: PerPage = 25,
    sla: Annotated[
        str | None, Query(max_length=40, description="SLA clock: " + ", ".join(SLA_FILTERS))
    ] = None,
    rep: SlaRep = None,
    days: SlaDays = None,
    rep_team: SlaRep = None,
    segment: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="only leads of accounts with a member of this segment"),
    ] = None,
) -> dict[str, Any]:
    if (problem := _sla_problem(sla)) is not None:
        raise InvalidInput(problem.replace("; showing every lead", ""))
    result = _listing(
        ctx,
        who,
        _filter(q, stage, product, owner, sort, dir, page, per_page, sla, rep, days, rep_team, segment),
    )
    return {
        "total": result.total,
        "page": result.filter.page,
        "pages": result.pages,
        "items": [asdict(r) for r in result.rows],
    }


@router.get("/leads/{lead_id}", response_class=HTMLResponse, include_in_schema=False)
def lead_page(
    request: Request, lead_id: Id, ctx: Ctx, who: Staff, done: Annotated[str, Query(max_length=40)] = ""
) -> Any:
    with ctx.db.read() as session:
        view = lead_view(session, lead_id, viewer_scope(session, ctx, who))
        score = lead_score(session, lead_id, now=ctx.clock())
        trail = routing_audit(session, lead_id)
        bench = lead_page_context(session, who, view.lead, now=ctx.clock(), done=done)
        clock = lead_clock(view.lead, now=ctx.clock())
        steps = journey(history.changes(session, lead_id))
        off = prediction_off(session)
    return ctx.templates.TemplateResponse(
        request,
        "lead.html",
        {
            "view": view,
            "score": score,
            "prediction_off": off if view.lead.predicted is None else None,
            "currency": ctx.settings.default_currency,
            "who": who,
            "trail": trail,
            "clock": clock,
            "journey": steps,
            **bench,
        },
    )


@router.get("/api/v1/leads/{lead_id}", tags=["leads"])
def lead_api(lead_id: Id, ctx: Ctx, who: Staff) -> dict[str, Any]:
    with ctx.db.read() as session:
        view = lead_view(session, lead_id, viewer_scope(session, ctx, who))
        score = lead_score(session, lead_id, now=ctx.clock())
        trail = routing_audit(session, lead_id)
        clock = lead_clock(view.lead, now=ctx.clock())
        steps = journey(history.changes(session, lead_id))
        off = prediction_off(session)
    lead = view.lead
    return {
        "id": lead.id,
        "account_id": lead.account_id,
        "account": view.account.name,
        "product": lead.product,
        "stage": lead.stage,
        "owner": view.owner,
        "opened_at": lead.opened_at,
        "mql_at": lead.mql_at,
        "contact_count": lead.contact_count,
        "buying_roles": lead.buying_roles,
        "score": score.as_dict(),
        "predicted": lead.predicted,
        "predicted_why": [{"feature": f, "change": d} for f, d in lead.predicted_why or []],
        # Why there is no probability: the model did not beat the simple baselines, or none exists.
        "predicted_off": off if lead.predicted is None else None,
        # probability times the deal size expected for its account and product, in the default
        # currency (the basis names it and where the size comes from), or why there is none
        "expected_value": lead.expected_value,
        "expected_value_currency": ctx.settings.default_currency if lead.expected_value is not None else None,
        "expected_value_basis": lead.expected_value_basis,
        "assigned_at": lead.assigned_at,
        "sla_policy": lead.sla_policy,
        "sla_due_at": lead.sla_due_at,
        "first_touch_at": lead.first_touch_at,
        "sla_breached_at": lead.sla_breached_at,
        "sla": clock.as_dict(),
        "accepted_at": lead.accepted_at,
        "rejected_reason": lead.rejected_reason,
        "routing": trail,
        "journey": [asdict(step) for step in steps],
    }
