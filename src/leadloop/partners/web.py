"""The partner portal (partner users: their organisation's leads, accept or hand back, report the
outcome, register deals) and the channel manager's side (scorecard, deal approvals). Pages and
JSON twins; every query is filtered to the partner in SQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from leadloop.contract.normalise import parse_money, registrable_domain
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.partners import handlers as h
from leadloop.partners import queries as q
from leadloop.partners.handlers import conflicts_of, partner_of
from leadloop.partners.model import OUTCOMES, parse_report
from leadloop.scoring.deal_value import Currency
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Manager, PartnerUser

router = APIRouter()


def _inbox(
    request: Request, ctx: AppContext, who: Any, *, message: str | None = None, status: int = 200
) -> Response:
    with ctx.db.read() as session:
        partner = partner_of(session, who)
        leads = q.partner_leads(session, partner.id)
        deals = q.partner_deals(session, partner.id)
    return ctx.templates.TemplateResponse(
        request,
        "partner_inbox.html",
        {"partner": partner, "leads": leads, "deals": deals, "outcomes": OUTCOMES, "message": message},
        status_code=status,
    )


@router.get("/partner", response_class=HTMLResponse, include_in_schema=False)
def partner_page(request: Request, ctx: Ctx, who: PartnerUser) -> Response:
    return _inbox(request, ctx, who)


@router.post("/partner/leads/{lead_id}/accept", include_in_schema=False)
def accept_page(ctx: Ctx, who: PartnerUser, lead_id: Id) -> Response:
    with ctx.db.write() as session:
        h.accept(session, who, lead_id, now=ctx.clock())
    return RedirectResponse(f"/partner?done=accepted#lead-{lead_id}", status_code=303)


@router.post("/partner/leads/{lead_id}/reject", include_in_schema=False)
def reject_page(
    ctx: Ctx, who: PartnerUser, lead_id: Id, reason: Annotated[str, Form(max_length=300)] = ""
) -> Response:
    with ctx.db.write() as session:
        h.reject(session, who, lead_id, reason, now=ctx.clock())
    return RedirectResponse("/partner?done=handed-back", status_code=303)


@router.post("/partner/leads/{lead_id}/report", include_in_schema=False)
def report_page(
    ctx: Ctx,
    who: PartnerUser,
    lead_id: Id,
    outcome: Annotated[str, Form(max_length=20)] = "",
    amount: Annotated[str | None, Form(max_length=30)] = None,
    reason: Annotated[str | None, Form(max_length=300)] = None,
) -> Response:
    with ctx.db.write() as session:
        h.report(session, who, lead_id, parse_report(outcome, amount, reason), now=ctx.clock())
    return RedirectResponse(f"/partner?done={outcome}#lead-{lead_id}", status_code=303)


def _currency(ctx: AppContext) -> Currency:
    return Currency(ctx.settings.default_currency, ctx.settings.fx_rates)


def _money(value: str | None) -> Decimal | None:
    amount = parse_money(value, field="amount")
    if amount is not None and amount >= Decimal("1e15"):
        raise InvalidInput("amount: give a positive number below 10^15")
    return amount


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"expected_close: {value!r} is not a date (YYYY-MM-DD)") from None


def _domain(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    domain = registrable_domain(value)
    if domain is None:
        raise InvalidInput(f"domain: {value!r} has no registrable domain")
    return domain


@router.post("/partner/deals", include_in_schema=False)
def register_page(
    ctx: Ctx,
    who: PartnerUser,
    company: Annotated[str, Form(max_length=200)] = "",
    domain: Annotated[str | None, Form(max_length=253)] = None,
    product: Annotated[str, Form(max_length=100)] = "general",
    contact_email: Annotated[str | None, Form(max_length=320)] = None,
    contact_name: Annotated[str | None, Form(max_length=200)] = None,
    amount: Annotated[str | None, Form(max_length=30)] = None,
    expected_close: Annotated[str | None, Form(max_length=30)] = None,
    notes: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    with ctx.db.write() as session:
        h.register_deal(
            session,
            who,
            company=company,
            domain=_domain(domain),
            product=product.strip() or "general",
            contact_email=contact_email or None,
            contact_name=contact_name or None,
            amount=_money(amount),
            expected_close=_date(expected_close),
            notes=notes or None,
            now=ctx.clock(),
        )
    return RedirectResponse("/partner?done=registered#deals", status_code=303)


@router.get("/partners", response_class=HTMLResponse, include_in_schema=False)
def channel_page(request: Request, ctx: Ctx, who: Manager) -> Response:
    with ctx.db.read() as session:
        cards = q.scorecard(session, currency=_currency(ctx))
        deals = q.partner_deals(session)
        names = q.partner_names(session)
        warnings = {d.id: conflicts_of(d, names.get(d.partner_id, "")) for d in deals}
    return ctx.templates.TemplateResponse(
        request, "partners.html", {"cards": cards, "deals": deals, "names": names, "warnings": warnings}
    )


@router.post("/partners/deals/{deal_id}", include_in_schema=False)
def decide_page(
    ctx: Ctx,
    who: Manager,
    deal_id: Id,
    decision: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject")
    with ctx.db.write() as session:
        h.decide_deal(session, who, deal_id, approve=decision == "approve", note=note, now=ctx.clock())
    return RedirectResponse("/partners#deals", status_code=303)


# JSON twins


@router.get("/api/v1/partner/leads", tags=["partners"])
def leads_api(ctx: Ctx, who: PartnerUser) -> list[dict[str, Any]]:
    """The leads routed to your partner organisation, with the contacts to act on."""
    with ctx.db.read() as session:
        return [q.as_json(x) for x in q.partner_leads(session, partner_of(session, who).id)]


@router.get("/api/v1/partner/leads/{lead_id}", tags=["partners"])
def lead_api(ctx: Ctx, who: PartnerUser, lead_id: Id) -> dict[str, Any]:
    with ctx.db.read() as session:
        found = q.partner_leads(session, partner_of(session, who).id, lead_id=lead_id)
    if not found:
        raise NotFound(f"there is no lead #{lead_id}")
    return q.as_json(found[0])


@router.post("/api/v1/partner/leads/{lead_id}/accept", tags=["partners"])
def accept_api(ctx: Ctx, who: PartnerUser, lead_id: Id) -> dict[str, Any]:
    with ctx.db.write() as session:
        lead = h.accept(session, who, lead_id, now=ctx.clock())
        return {"id": lead.id, "stage": lead.stage, "accepted_at": lead.accepted_at}


class HandBack(BaseModel):
    reason: str = Field(min_length=1, max_length=300)


@router.post("/api/v1/partner/leads/{lead_id}/reject", tags=["partners"])
def reject_api(ctx: Ctx, who: PartnerUser, lead_id: Id, body: HandBack) -> dict[str, Any]:
    """Hand the lead back with a reason: it is routed to someone else at once."""
    with ctx.db.write() as session:
        h.reject(session, who, lead_id, body.reason, now=ctx.clock())
    return {"id": lead_id, "handed_back": True}


class Outcome(BaseModel):
    outcome: str = Field(description="contacted | qualified | won | lost", max_length=20)
    amount: str | None = Field(default=None, max_length=30)
    reason: str | None = Field(default=None, max_length=300)


@router.post("/api/v1/partner/leads/{lead_id}/report", tags=["partners"])
def report_api(ctx: Ctx, who: PartnerUser, lead_id: Id, body: Outcome) -> dict[str, Any]:
    with ctx.db.write() as session:
        lead = h.report(
            session, who, lead_id, parse_report(body.outcome, body.amount, body.reason), now=ctx.clock()
        )
        return {"id": lead.id, "stage": lead.stage, "first_touch_at": lead.first_touch_at}


class DealIn(BaseModel):
    company: str = Field(min_length=1, max_length=200)
    domain: str | None = Field(default=None, max_length=253)
    product: str = Field(default="general", min_length=1, max_length=100)
    contact_email: str | None = Field(default=None, max_length=320)
    contact_name: str | None = Field(default=None, max_length=200)
    amount: str | None = Field(default=None, max_length=30)
    expected_close: str | None = Field(default=None, max_length=30)
    notes: str | None = Field(default=None, max_length=2000)


def _deal_json(d: Any, warnings: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": d.id,
        "partner_id": d.partner_id,
        "company": d.company,
        "domain": d.domain,
        "product": d.product,
        "amount": str(d.amount) if d.amount is not None else None,
        "status": d.status,
        "created_at": d.created_at,
        "expires_at": d.expires_at,
        "matches": d.matches,
        "account_id": d.account_id,
        "lead_id": d.lead_id,
        **({"warnings": warnings} if warnings is not None else {}),
    }


@router.post("/api/v1/partner/deals", status_code=201, tags=["partners"])
def register_api(ctx: Ctx, who: PartnerUser, body: DealIn) -> dict[str, Any]:
    """Register a deal you found; it is compared with the warehouse and waits for approval."""
    with ctx.db.write() as session:
        deal = h.register_deal(
            session,
            who,
            company=body.company,
            domain=_domain(body.domain),
            product=body.product.strip(),
            contact_email=body.contact_email,
            contact_name=body.contact_name,
            amount=_money(body.amount),
            expected_close=_date(body.expected_close),
            notes=body.notes,
            now=ctx.clock(),
        )
        return _deal_json(deal)


@router.get("/api/v1/partner/deals", tags=["partners"])
def my_deals_api(ctx: Ctx, who: PartnerUser) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        return [_deal_json(d) for d in q.partner_deals(session, partner_of(session, who).id)]


@router.get("/api/v1/deal-registrations", tags=["partners"])
def deals_api(ctx: Ctx, who: Manager) -> list[dict[str, Any]]:
    """Every registration, with what it may conflict with in the warehouse."""
    with ctx.db.read() as session:
        names = q.partner_names(session)
        return [_deal_json(d, conflicts_of(d, names.get(d.partner_id, ""))) for d in q.partner_deals(session)]


class DealDecision(BaseModel):
    approve: bool
    note: str | None = Field(default=None, max_length=500)


@router.post("/api/v1/deal-registrations/{deal_id}", tags=["partners"])
def decide_api(ctx: Ctx, who: Manager, deal_id: Id, body: DealDecision) -> dict[str, Any]:
    with ctx.db.write() as session:
        deal = h.decide_deal(session, who, deal_id, approve=body.approve, note=body.note, now=ctx.clock())
        return _deal_json(deal)


@router.get("/api/v1/partners/scorecard", tags=["partners"])
def scorecard_api(ctx: Ctx, who: Manager) -> list[dict[str, Any]]:
    """Acceptance rate, time to accept, conversion, revenue and SLA misses per partner."""
    with ctx.db.read() as session:
        return [c.as_dict() for c in q.scorecard(session, currency=_currency(ctx))]
