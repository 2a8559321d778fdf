"""Campaigns: the list (cost, members, leads, opportunities), one campaign's page, exports, API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadloop.campaigns.model import STATUSES
from leadloop.campaigns.queries import (
    CAMPAIGN_HEADER,
    CampaignFilter,
    campaign_view,
    export_campaigns,
    list_campaigns,
)
from leadloop.web.deps import Ctx, Id, Page, Staff, viewer_scope
from leadloop.web.listing import csv_answer, filter_from, list_context, ticked

router = APIRouter()


@router.get("/campaigns", response_class=HTMLResponse, include_in_schema=False)
def campaigns_page(request: Request, ctx: Ctx, who: Staff) -> Any:
    f = filter_from(CampaignFilter, request).clean()
    with ctx.db.read() as session:
        listing = list_campaigns(session, f, now=ctx.clock(), scope=viewer_scope(session, ctx, who))
        tools = list_context(request, session, who, "campaigns", noun="campaign", plural="campaigns")
    return ctx.templates.TemplateResponse(
        request,
        "campaigns.html",
        {"f": f, "listing": listing, "paging": listing.paging, "statuses": STATUSES, **tools},
    )


@router.get("/campaigns.csv", include_in_schema=False)
def campaigns_export(request: Request, ctx: Ctx, who: Staff) -> Any:
    f = filter_from(CampaignFilter, request).clean()
    now = ctx.clock()
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
    return csv_answer(
        ctx,
        who,
        request,
        "campaigns",
        CAMPAIGN_HEADER,
        lambda s: export_campaigns(s, f, now=now, scope=scope),
    )


@router.post("/campaigns.csv", include_in_schema=False)
async def campaigns_export_selected(request: Request, ctx: Ctx, who: Staff) -> Any:
    ids = await ticked(request, "ids")
    now = ctx.clock()
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
    return csv_answer(
        ctx,
        who,
        request,
        "campaigns",
        CAMPAIGN_HEADER,
        lambda s: export_campaigns(s, CampaignFilter(), now=now, scope=scope, ids=ids),
        selected=len(ids),
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse, include_in_schema=False)
def campaign_page(request: Request, ctx: Ctx, who: Staff, campaign_id: Id, page: Page = 1) -> Any:
    with ctx.db.read() as session:
        view = campaign_view(
            session, campaign_id, now=ctx.clock(), scope=viewer_scope(session, ctx, who), page=page
        )
    return ctx.templates.TemplateResponse(request, "campaign.html", {"view": view, "c": view.campaign})


@router.get("/api/v1/campaigns", tags=["campaigns"])
def campaigns_api(request: Request, ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Campaigns with cost, status, members, leads and opportunities (counted within your scope);
    filters: q, channel, status (planned | active | ended), page, per_page."""
    f = filter_from(CampaignFilter, request).clean()
    with ctx.db.read() as session:
        listing = list_campaigns(session, f, now=ctx.clock(), scope=viewer_scope(session, ctx, who))
    return {
        "total": listing.paging.total,
        "page": listing.paging.page,
        "pages": listing.paging.pages,
        "items": [asdict(r) for r in listing.rows],
    }


@router.get("/api/v1/campaigns/{campaign_id}", tags=["campaigns"])
def campaign_api(ctx: Ctx, who: Staff, campaign_id: Id, page: Page = 1) -> dict[str, Any]:
    with ctx.db.read() as session:
        view = campaign_view(
            session, campaign_id, now=ctx.clock(), scope=viewer_scope(session, ctx, who), page=page
        )
    return {
        "campaign": asdict(view.campaign),
        "members": [r._asdict() for r in view.members],
        "members_total": view.members_paging.total,
        "leads": [r._asdict() for r in view.leads],
    }
