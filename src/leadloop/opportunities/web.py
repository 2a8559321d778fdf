"""Opportunities in the browser and the API: the panel on the lead page (loaded by HTMX into
`_opportunities.html`, so the lead page stays one include line) with the Convert form and the
update form, and their JSON twins. (Another CRM's outcomes in bulk come through capture's door,
`POST /api/v1/opportunities/bulk`.)"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from leadloop.access.repository import require_visible
from leadloop.auth.model import Principal
from leadloop.contract.normalise import parse_money
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.opportunities import handlers, queries
from leadloop.opportunities.model import LOST_REASONS, ROLES, STAGE_LABELS, STAGES, Change, RoleIn
from leadloop.store.tables import Lead, Opportunity
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Staff, viewer_scope
from leadloop.work.queries import may_work_lead

router = APIRouter()


def _panel(
    request: Request,
    ctx: AppContext,
    who: Principal,
    lead_id: int,
    *,
    error: str | None = None,
    message: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        lead = session.get_one(Lead, lead_id)
        opps = queries.of_lead(session, lead_id, default_currency=ctx.settings.default_currency)
        may = may_work_lead(session, who, lead)
        people = queries.candidates(session, lead.account_id) if may else []
    return ctx.templates.TemplateResponse(
        request,
        "_opportunities_panel.html",
        {
            "lead": lead,
            "opps": opps,
            "may_work": may,
            "may_convert": may and lead.stage != "merged" and not any(o.outcome == "open" for o in opps),
            "people": people,
            "stages": [(s, STAGE_LABELS[s]) for s in STAGES],
            "roles": ROLES,
            "lost_reasons": LOST_REASONS,
            "default_currency": ctx.settings.default_currency,
            "error": error,
            "message": message,
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/leads/{lead_id}/opportunities", response_class=HTMLResponse, include_in_schema=False)
def panel_page(request: Request, ctx: Ctx, who: Staff, lead_id: Id) -> Response:
    return _panel(request, ctx, who, lead_id)


def _decimal(text: str | None, what: str) -> Decimal | None:
    return parse_money(text, field=what)


def _date(text: str | None, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} {text[:30]!r} is not a date (YYYY-MM-DD)") from None


def _roles_from_form(values: dict[str, str]) -> list[RoleIn]:
    """Ticked people (`contact_<id>`), each with `role_<id>`; the radio `primary` names one."""
    primary = values.get("primary", "")
    out = []
    for key, ticked in values.items():
        if not key.startswith("contact_") or not ticked:
            continue
        pid = key.removeprefix("contact_")
        if not (pid.isdigit() and len(pid) < 10):
            raise InvalidInput("choose the contacts from the list")
        out.append(RoleIn(int(pid), values.get(f"role_{pid}") or None, pid == primary))
    return out


@router.post("/leads/{lead_id}/convert", response_class=HTMLResponse, include_in_schema=False)
async def convert_post(request: Request, ctx: Ctx, who: Staff, lead_id: Id) -> Response:
    """The Convert form: a refusal shows the form again as typed, with the sentence to act on."""
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        form = handlers.Conversion(
            roles=_roles_from_form(values),
            name=values.get("name") or None,
            stage=values.get("stage") or None,
            amount=_decimal(values.get("amount"), "amount"),
            currency=values.get("currency") or None,
            expected_close_on=_date(values.get("expected_close_on"), "expected close date"),
        )
        with ctx.db.write() as session:
            require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
            oid = handlers.convert(session, lead_id, who, form, now=ctx.clock(), source="web")
    except InvalidInput as err:
        return _panel(request, ctx, who, lead_id, error=str(err), values=values, status_code=422)
    return _panel(request, ctx, who, lead_id, message=f"Converted: opportunity #{oid} is open.")


def _change_from_form(values: dict[str, str]) -> Change:
    outcome = values.get("outcome") or None
    return Change(
        stage=values.get("stage") or None,
        outcome=outcome,
        amount=_decimal(values.get("amount"), "amount"),
        currency=values.get("currency") or None,
        expected_close_on=_date(values.get("expected_close_on"), "expected close date"),
        lost_reason=values.get("lost_reason") or None if outcome == "lost" else None,
        closed_on=_date(values.get("closed_on"), "close date") if outcome in ("won", "lost") else None,
    )


@router.post("/opportunities/{opportunity_id}", response_class=HTMLResponse, include_in_schema=False)
async def update_post(request: Request, ctx: Ctx, who: Staff, opportunity_id: Id) -> Response:
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    with ctx.db.read() as session:
        opp = session.get(Opportunity, opportunity_id)
        if opp is not None:
            queries.require_seen(session, viewer_scope(session, ctx, who), opp)
        lead_id = opp.lead_id if opp is not None else None
    if opp is None:
        raise NotFound(f"there is no opportunity #{opportunity_id}")
    if lead_id is None:
        raise InvalidInput(f"opportunity #{opportunity_id} has no lead page; change it through the API")
    try:
        change = handlers.require_changes(_change_from_form(values))
        with ctx.db.write() as session:
            handlers.update(session, opportunity_id, who, change, now=ctx.clock(), source="web")
    except InvalidInput as err:
        return _panel(request, ctx, who, lead_id, error=str(err), values=values, status_code=422)
    return _panel(request, ctx, who, lead_id, message=f"Opportunity #{opportunity_id} saved.")


# The API.
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactRoleIn(_In):
    person_id: int = Field(ge=1, le=2**31 - 1)
    role: str | None = Field(None, max_length=50, description="one of: " + ", ".join(ROLES))
    is_primary: bool = False


class ConvertIn(_In):
    contacts: list[ContactRoleIn] = Field(
        min_length=1, max_length=100, description="people of the lead's account; one primary (else the first)"
    )
    name: str | None = Field(None, max_length=300)
    stage: str | None = Field(None, max_length=50, description="one of: " + ", ".join(STAGES))
    amount: Decimal | None = Field(None, ge=0, lt=Decimal("1e16"))
    currency: str | None = Field(None, min_length=3, max_length=3, description="ISO 4217; none: the default")
    expected_close_on: date | None = None


class OpportunityPatch(_In):
    stage: str | None = Field(None, max_length=50, description="an open stage (reopens a closed deal)")
    outcome: str | None = Field(None, pattern="^(open|won|lost)$")
    amount: Decimal | None = Field(None, ge=0, lt=Decimal("1e16"))
    currency: str | None = Field(None, min_length=3, max_length=3)
    expected_close_on: date | None = None
    lost_reason: str | None = Field(None, max_length=300, description="needed when the outcome is lost")
    closed_on: date | None = Field(None, description="when it was won or lost, if not today")


def _json(ctx: AppContext, who: Principal, opportunity_id: int) -> dict[str, Any]:
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
        view = queries.opportunity(
            session, opportunity_id, scope, default_currency=ctx.settings.default_currency
        )
    return view.as_dict()


@router.post("/api/v1/leads/{lead_id}/convert", status_code=201, tags=["opportunities"])
def convert_api(ctx: Ctx, who: Staff, lead_id: Id, body: Annotated[ConvertIn, Body()]) -> dict[str, Any]:
    """Convert a lead: an opportunity on its account with contact roles; the lead moves to opportunity.
    The person's timeline, campaign memberships and consent stay theirs; nothing is copied."""
    form = handlers.Conversion(
        roles=[RoleIn(c.person_id, c.role, c.is_primary) for c in body.contacts],
        name=body.name,
        stage=body.stage,
        amount=body.amount,
        currency=body.currency,
        expected_close_on=body.expected_close_on,
    )
    with ctx.db.write() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        oid = handlers.convert(session, lead_id, who, form, now=ctx.clock(), source="api")
    return _json(ctx, who, oid)


@router.get("/api/v1/opportunities/{opportunity_id}", tags=["opportunities"])
def opportunity_api(ctx: Ctx, who: Staff, opportunity_id: Id) -> dict[str, Any]:
    """An opportunity with its contact roles and its history (a stage that went back included)."""
    return _json(ctx, who, opportunity_id)


@router.patch("/api/v1/opportunities/{opportunity_id}", tags=["opportunities"])
def update_api(
    ctx: Ctx, who: Staff, opportunity_id: Id, body: Annotated[OpportunityPatch, Body()]
) -> dict[str, Any]:
    """Move a deal on: stage, amount and currency, expected close date, won or lost (lost needs a reason)."""
    change = handlers.require_changes(Change(**body.model_dump()))
    with ctx.db.write() as session:
        opp = session.get(Opportunity, opportunity_id)
        if opp is not None:
            queries.require_seen(session, viewer_scope(session, ctx, who), opp)
        handlers.update(session, opportunity_id, who, change, now=ctx.clock(), source="api")
    return _json(ctx, who, opportunity_id)


@router.get("/api/v1/leads/{lead_id}/opportunities", tags=["opportunities"])
def lead_opportunities_api(ctx: Ctx, who: Staff, lead_id: Id) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        views = queries.of_lead(session, lead_id, default_currency=ctx.settings.default_currency)
    return [v.as_dict() for v in views]
