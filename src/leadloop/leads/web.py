"""Leads list page (HTMX: the table alone on filter/sort/page) and its JSON twin."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from leadloop.leads.queries import PAGE_SIZES, SORTS, STAGES, LeadFilter, list_leads
from leadloop.web.deps import Ctx, Staff

router = APIRouter()


def _filter(
    q: str | None = None, stage: str | None = None, product: str | None = None, owner: str | None = None,
    sort: str = "last_activity", dir: str = "desc", page: int = 1, per_page: int = 25,
) -> LeadFilter:  # fmt: skip
    return LeadFilter(q, stage or None, product or None, owner or None, sort, dir, page, per_page).clean()


@router.get("/leads", response_class=HTMLResponse, include_in_schema=False)
def leads_page(
    request: Request, ctx: Ctx, who: Staff,
    q: Annotated[str | None, Query(max_length=200)] = None, stage: str | None = None, product: str | None = None,
    owner: str | None = None, sort: str = "last_activity", dir: str = "desc", page: Annotated[int, Query(ge=1)] = 1,
    per_page: int = 25,
) -> Any:  # fmt: skip
    f = _filter(q, stage, product, owner, sort, dir, page, per_page)
    with ctx.db.read() as session:
        result = list_leads(session, f)
    template = "_leads_table.html" if request.headers.get("hx-request") else "leads.html"
    return ctx.templates.TemplateResponse(
        request, template,
        {"page": result, "stages": STAGES, "sorts": list(SORTS), "page_sizes": PAGE_SIZES, "who": who},
    )  # fmt: skip


@router.get("/api/v1/leads", tags=["leads"])
def leads_api(
    ctx: Ctx, who: Staff, q: Annotated[str | None, Query(max_length=200)] = None, stage: str | None = None,
    product: str | None = None, owner: str | None = None, sort: str = "last_activity", dir: str = "desc",
    page: Annotated[int, Query(ge=1)] = 1, per_page: int = 25,
) -> dict[str, Any]:  # fmt: skip
    with ctx.db.read() as session:
        result = list_leads(session, _filter(q, stage, product, owner, sort, dir, page, per_page))
    return {
        "total": result.total,
        "page": result.filter.page,
        "pages": result.pages,
        "items": [asdict(r) for r in result.rows],
    }
