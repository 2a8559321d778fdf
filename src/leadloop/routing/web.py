"""Routing in the browser and the API: the rep's inbox (accept, reject with a reason, log a call),
the manager's team view, the SLA report, and the rule-set admin (documents/web.py's pages)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from leadloop.access.repository import require_visible
from leadloop.auth.model import Principal
from leadloop.core.bounds import MAX_ID
from leadloop.core.errors import InvalidInput, LeadloopError
from leadloop.core.labels import label
from leadloop.documents.web import Pages, document_router
from leadloop.routing import views
from leadloop.routing.handlers import accept, log_call, reject
from leadloop.routing.kind import ROUTING
from leadloop.routing.reassign import MAX_LEADS, Reassigned, candidates, reassign
from leadloop.routing.report import GROUPS, desk_report, funnel, rejection_report, sla_report
from leadloop.routing.repository import active_rules
from leadloop.store.tables import Lead, User
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Days, Id, Manager, Staff, viewer_scope
from leadloop.work import queries as workbench

router = APIRouter()


def _user(session: Session, who: Principal) -> User:
    user = session.get(User, who.user_id)
    assert user is not None
    return user


def _row(
    request: Request,
    ctx: AppContext,
    user_id: int,
    lead_id: int,
    message: str | None = None,
    *,
    next_step: bool = False,
) -> Response:
    with ctx.db.read() as session:
        rows = views.inbox(session, user_id, now=ctx.clock(), lead_id=lead_id)
        reasons = active_rules(session)[0].reject_reasons
        bench = workbench.inbox_context(session, user_id, [r.id for r in rows], now=ctx.clock())
    return ctx.templates.TemplateResponse(
        request,
        "_inbox_row.html",
        {
            "r": rows[0] if rows else None,
            "lead_id": lead_id,
            "message": message,
            "reasons": reasons,
            "now": ctx.clock(),
            "next_step": next_step,
            **bench,
        },
    )


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(
    request: Request, ctx: Ctx, who: Staff, done: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    with ctx.db.read() as session:
        rows = views.inbox(session, who.user_id, now=ctx.clock())
        reasons = active_rules(session)[0].reject_reasons
        bench = workbench.inbox_context(session, who.user_id, [r.id for r in rows], now=ctx.clock())
        tasks = workbench.my_tasks(session, who.user_id, now=ctx.clock())
    return ctx.templates.TemplateResponse(
        request,
        "inbox.html",
        {
            "rows": rows,
            "reasons": reasons,
            "now": ctx.clock(),
            "tasks": tasks,
            "done": workbench.done_message(done),
            **bench,
        },
    )


# The workbench (issue 13): one inbox row, which the workbench's forms come back to through HTMX.
@router.get("/inbox/rows/{lead_id}", response_class=HTMLResponse, include_in_schema=False)
def inbox_row(
    request: Request, ctx: Ctx, who: Staff, lead_id: Id, done: Annotated[str, Query(max_length=40)] = ""
) -> Response:
    return _row(request, ctx, who.user_id, lead_id, workbench.done_message(done))


@router.get("/api/v1/inbox", tags=["routing"])
def inbox_api(ctx: Ctx, who: Staff) -> list[dict[str, Any]]:
    """My open leads, hottest first, with their SLA deadlines."""
    with ctx.db.read() as session:
        return [
            {**r.__dict__, "clock": r.clock.as_dict()}
            for r in views.inbox(session, who.user_id, now=ctx.clock())
        ]


def _log_call(ctx: AppContext, lead_id: int, who: Principal, note: str | None) -> None:
    with ctx.db.write() as session:
        log_call(session, lead_id, _user(session, who), now=ctx.clock(), note=note)


@router.post("/leads/{lead_id}/accept", response_class=HTMLResponse, include_in_schema=False)
def accept_row(request: Request, ctx: Ctx, who: Staff, lead_id: Id) -> Response:
    with ctx.db.write() as session:
        accept(session, lead_id, _user(session, who), now=ctx.clock())
    return _row(request, ctx, who.user_id, lead_id, "Accepted", next_step=True)


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


PERIODS = (7, 30, 90, 365)  # the period choices the SLA report offers (any 1..3650 days is taken)


def _sla(ctx: AppContext, who: Principal, by: str, days: int) -> dict[str, Any]:
    if by not in GROUPS:
        raise InvalidInput(f"group by one of {', '.join(GROUPS)}, not {by!r}")
    now = ctx.clock()
    with ctx.db.read() as session:
        users = _people_seen(session, ctx, who)
        rows = sla_report(session, since=now - timedelta(days=days), now=now, by=by, users=users)
        rejections = rejection_report(session, since=now - timedelta(days=days))
        # The qualification desk: its SLA, MQL to hand-over, and the funnel's arrivals per stage.
        within = active_rules(session)[0].qualification.within_minutes
        desk = desk_report(session, since=now - timedelta(days=days), now=now, within_minutes=within)
        stages = funnel(session, since=now - timedelta(days=days))
    return {
        "by": by,
        "days": days,
        "rows": rows,
        "rejections": rejections,
        "desk": desk,
        "desk_within": within,
        "funnel": stages,
        "periods": PERIODS,
    }


@router.get("/reports/sla", response_class=HTMLResponse, include_in_schema=False)
def sla_page(
    request: Request,
    ctx: Ctx,
    who: Manager,
    by: Annotated[str, Query(max_length=20)] = "rep",
    days: Annotated[str, Query(max_length=20)] = "30",
) -> Response:
    """A period out of range or not a number is not an error page: the report shows the nearest
    period it can and says so."""
    message = None
    n = int(days) if days.strip().isdigit() else None
    if n is None or not 1 <= n <= 3650:
        message = f"The period must be a whole number of days from 1 to 3650, not {days[:20]!r}; showing "
        n = 30 if n is None else max(1, min(n, 3650))
        message += f"the last {n} days."
    if by not in GROUPS:
        message = (message or "") + f" There is no grouping {by[:20]!r}; grouped by rep."
        by = "rep"
    data = _sla(ctx, who, by, n)
    return ctx.templates.TemplateResponse(request, "sla_report.html", {**data, "message": message})


@router.get("/api/v1/reports/sla", tags=["routing"])
def sla_api(ctx: Ctx, who: Manager, by: str = "rep", days: Days = 30) -> dict[str, Any]:
    """The SLA clocks of the leads assigned in the last `days` days, by rep (by name), team, source
    or grade: met, breached (stopped late or still overdue), the breach rate, time to the stop of the
    clock (median, p90); `filters` is the leads-list query for the leads behind a row."""
    data = _sla(ctx, who, by, days)
    return {
        **data,
        "rows": [
            {**r.__dict__, "share_within": r.share_within, "breach_rate": r.breach_rate} for r in data["rows"]
        ],
        "rejections": [r.__dict__ for r in data["rejections"]],
        "desk": [{**r.__dict__, "share_within": r.share_within} for r in data["desk"]],
        "funnel": [{"stage": label, "leads": n} for label, n in data["funnel"]],
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


# Edit and reassign (issue 13, item 4): a manager reassigns one or many leads, with a reason.
# The contract the leads list's bulk bar posts to: `POST /leads/reassign` (form: `lead_ids` repeated,
# `owner_id`, `reason`, `csrf_token`; optional `next`, a path to return to) and its JSON twin.


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(max_length=100_000)
    owner_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    reason: str = Field(max_length=2000)


def _reassign(ctx: AppContext, who: Principal, lead_ids: list[int], owner_id: int, reason: str) -> Reassigned:
    with ctx.db.write() as session:
        return reassign(
            session,
            lead_ids,
            owner_id,
            reason,
            who=who,
            scope=viewer_scope(session, ctx, who),
            now=ctx.clock(),
        )


@router.post("/api/v1/leads/reassign", tags=["routing"])
def reassign_api(body: ReassignBody, ctx: Ctx, who: Manager) -> dict[str, Any]:
    """Hand leads to another owner with a reason (managers: within their teams; admins: anyone
    active and in). Each gets a routing audit entry, a stage history row and a new SLA clock."""
    done = _reassign(ctx, who, body.lead_ids, body.owner_id, body.reason)
    return {"owner": done.owner, "reassigned": done.moved, "already_theirs": done.already}


def _form_ints(values: list[Any], name: str) -> list[int]:
    out = []
    for v in values[: MAX_LEADS + 1]:
        text = str(v).strip().lstrip("#")
        if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
            raise InvalidInput(f"{name}: {str(v)[:40]!r} is not a lead or user id")
        out.append(int(text))
    return out


def _safe_path(value: Any) -> str | None:
    text = str(value or "")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else None


@router.post("/leads/reassign", response_class=HTMLResponse, include_in_schema=False)
async def reassign_form(request: Request, ctx: Ctx, who: Manager) -> Response:
    form = await request.form()
    raw_ids, raw_owner = form.getlist("lead_ids"), str(form.get("owner_id") or "")
    reason, back = str(form.get("reason") or "")[:2000], _safe_path(form.get("next"))
    htmx = request.headers.get("hx-request") == "true"
    try:
        ids = _form_ints(raw_ids, "lead_ids")
        if len(raw_ids) > MAX_LEADS:
            raise InvalidInput(f"lead_ids: at most {MAX_LEADS:,} leads at a time ({len(raw_ids):,} given)")
        owner = _form_ints([raw_owner], "owner_id") if raw_owner else []
        if not owner:
            raise InvalidInput("owner_id: choose whom to give the leads to")
        done = _reassign(ctx, who, ids, owner[0], reason)
    except LeadloopError as exc:
        # The form comes back as it was sent, with the reason: nothing typed is lost.
        with ctx.db.read() as session:
            people = candidates(session, who)
        return ctx.templates.TemplateResponse(
            request,
            "_reassign_form.html" if htmx else "reassign.html",
            {
                "lead_ids": [str(i)[:20] for i in raw_ids[:MAX_LEADS]],
                "candidates": people,
                "owner_id": raw_owner,
                "reason": reason,
                "next": back,
                "error": str(exc),
                "done": None,
            },
            status_code=200 if htmx else exc.status_code,
        )
    if htmx:
        return ctx.templates.TemplateResponse(
            request,
            "_reassign_form.html",
            {"done": done, "lead_ids": [], "candidates": [], "error": None, "next": back},
        )
    if back is None and len(ids) == 1:
        back = f"/leads/{ids[0]}"
    return RedirectResponse(back or "/leads", status_code=303)


@router.get("/leads/{lead_id}/reassign", response_class=HTMLResponse, include_in_schema=False)
def reassign_lead_form(request: Request, ctx: Ctx, who: Manager, lead_id: Id) -> Response:
    """The lead page's Reassign form (loaded into `_reassign.html`)."""
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        people = candidates(session, who)
    return ctx.templates.TemplateResponse(
        request,
        "_reassign_form.html",
        {
            "lead_ids": [str(lead_id)],
            "candidates": people,
            "owner_id": "",
            "reason": "",
            "next": f"/leads/{lead_id}",
            "error": None,
            "done": None,
        },
    )
