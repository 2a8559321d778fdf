"""Global search: as-you-type results under the search box (HTMX), a page, and its JSON twin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from leadloop.search.queries import Found, search
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Staff, viewer_scope

router = APIRouter()

Q = Annotated[str, Query(max_length=200, description="words to find, accents and case ignored")]


def _found(ctx: AppContext, who: Any, q: str, limit: int) -> Found:
    with ctx.db.read() as session:
        return search(session, q.strip(), scope=viewer_scope(session, ctx, who), limit=limit)


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(request: Request, ctx: Ctx, who: Staff, q: Q = "") -> Any:
    partial = bool(request.headers.get("hx-request"))
    found = _found(ctx, who, q, 8 if partial else 50)
    template = "_search_results.html" if partial else "search.html"
    return ctx.templates.TemplateResponse(request, template, {"found": found, "q": q})


@router.get("/api/v1/search", tags=["search"])
def search_api(
    ctx: Ctx, who: Staff, q: Q = "", limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> dict[str, Any]:
    """People, accounts and leads matching every word of `q` (accents and case ignored), among
    what the caller may see; `more` says where there are more than `limit`."""
    return _found(ctx, who, q, limit).as_dict()
