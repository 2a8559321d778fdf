"""The accounts list, the people list's export, and saved views (save, apply, delete; personal)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.lists.model import LISTS
from leadloop.lists.queries import (
    ACCOUNT_HEADER,
    PEOPLE_HEADER,
    AccountFilter,
    PeopleFilter,
    export_accounts,
    export_people,
    list_accounts,
)
from leadloop.lists.views import delete_view, get_view, save_view, views_of
from leadloop.web.deps import Ctx, Id, Staff, viewer_scope
from leadloop.web.listing import csv_answer, filter_from, list_context, ticked

router = APIRouter()


@router.get("/accounts", response_class=HTMLResponse, include_in_schema=False)
def accounts_page(
    request: Request, ctx: Ctx, who: Staff, q: Annotated[str, Query(max_length=200)] = ""
) -> Any:
    f = filter_from(AccountFilter, request).clean()
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
        listing = list_accounts(session, f, scope=scope)
        tools = list_context(request, session, who, "accounts", noun="account", plural="accounts")
    return ctx.templates.TemplateResponse(
        request, "accounts.html", {"f": f, "listing": listing, "paging": listing.paging, **tools}
    )


@router.get("/accounts.csv", include_in_schema=False)
def accounts_export(request: Request, ctx: Ctx, who: Staff) -> Any:
    f = filter_from(AccountFilter, request).clean()
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
    return csv_answer(
        ctx, who, request, "accounts", ACCOUNT_HEADER, lambda s: export_accounts(s, f, scope=scope)
    )


@router.post("/accounts.csv", include_in_schema=False)
async def accounts_export_selected(request: Request, ctx: Ctx, who: Staff) -> Any:
    ids = await ticked(request, "ids")
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
    return csv_answer(
        ctx,
        who,
        request,
        "accounts",
        ACCOUNT_HEADER,
        lambda s: export_accounts(s, AccountFilter(), scope=scope, ids=ids),
        selected=len(ids),
    )


@router.get("/people.csv", include_in_schema=False)
def people_export(request: Request, ctx: Ctx, who: Staff) -> Any:
    f = filter_from(PeopleFilter, request).clean()
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
    return csv_answer(ctx, who, request, "people", PEOPLE_HEADER, lambda s: export_people(s, f, scope=scope))


@router.post("/people.csv", include_in_schema=False)
async def people_export_selected(request: Request, ctx: Ctx, who: Staff) -> Any:
    ids = await ticked(request, "ids")
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
    return csv_answer(
        ctx,
        who,
        request,
        "people",
        PEOPLE_HEADER,
        lambda s: export_people(s, PeopleFilter(), scope=scope, ids=ids),
        selected=len(ids),
    )


# Saved views


@router.post("/views", include_in_schema=False)
def save_view_page(
    ctx: Ctx,
    who: Staff,
    list_name: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Save the list's current filters under a name, and show the list through it."""
    with ctx.db.write() as session:
        view = save_view(session, who.user_id, list_name, name, query, now=ctx.clock())
    return RedirectResponse(view.url, status_code=303)


@router.get("/views/{view_id}", include_in_schema=False)
def apply_view_page(ctx: Ctx, who: Staff, view_id: Id) -> Response:
    with ctx.db.read() as session:
        view = get_view(session, who.user_id, view_id)
    return RedirectResponse(view.url, status_code=303)


@router.post("/views/{view_id}/delete", include_in_schema=False)
def delete_view_page(ctx: Ctx, who: Staff, view_id: Id) -> Response:
    with ctx.db.write() as session:
        view = delete_view(session, who.user_id, view_id)
    return RedirectResponse(f"/{view.list_name}", status_code=303)


@router.get("/api/v1/views", tags=["lists"])
def views_api(
    ctx: Ctx, who: Staff, list_name: Annotated[str | None, Query(max_length=20)] = None
) -> dict[str, Any]:
    """My saved views (of one list, or all): each with the query string it applies."""
    with ctx.db.read() as session:
        views = views_of(session, who.user_id, list_name if list_name in LISTS else None)
    return {
        "views": [
            {"id": v.id, "list": v.list_name, "name": v.name, "query": v.query, "url": v.url} for v in views
        ]
    }
