"""Notifications in the browser and the API: the list, mark one or all read, and the unread count
the navigation shows (fetched by HTMX, so no page's handler has to know about it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.notifications import handlers
from leadloop.notifications.queries import link_of, recent, unread_count
from leadloop.web.deps import Ctx, Id, Staff

router = APIRouter()


@router.get("/notifications", response_class=HTMLResponse, include_in_schema=False)
def notifications_page(request: Request, ctx: Ctx, who: Staff) -> Response:
    with ctx.db.read() as session:
        items = recent(session, who.user_id)
        unread = unread_count(session, who.user_id)
    return ctx.templates.TemplateResponse(request, "notifications.html", {"items": items, "unread": unread})


@router.get("/notifications/badge", response_class=HTMLResponse, include_in_schema=False)
def badge(request: Request, ctx: Ctx, who: Staff) -> Response:
    with ctx.db.read() as session:
        unread = unread_count(session, who.user_id)
    return ctx.templates.TemplateResponse(request, "_notifications_badge.html", {"unread": unread})


@router.post("/notifications/{notification_id}/read", include_in_schema=False)
def read_form(ctx: Ctx, who: Staff, notification_id: Id) -> Response:
    """Mark read and go on to what it is about (the list, if it links nowhere)."""
    with ctx.db.write() as session:
        handlers.mark_read(session, who.user_id, notification_id, now=ctx.clock())
        link = link_of(session, who.user_id, notification_id)
    return RedirectResponse(link or "/notifications", status_code=303)


@router.post("/notifications/read-all", include_in_schema=False)
def read_all_form(ctx: Ctx, who: Staff) -> Response:
    with ctx.db.write() as session:
        handlers.mark_all_read(session, who.user_id, now=ctx.clock())
    return RedirectResponse("/notifications", status_code=303)


def _item(n: Any) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get("/api/v1/notifications", tags=["notifications"])
def notifications_api(ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Your notifications, unread first, and how many are unread."""
    with ctx.db.read() as session:
        return {
            "unread": unread_count(session, who.user_id),
            "items": [_item(n) for n in recent(session, who.user_id)],
        }


@router.post("/api/v1/notifications/{notification_id}/read", tags=["notifications"])
def read_api(ctx: Ctx, who: Staff, notification_id: Id) -> dict[str, Any]:
    """Mark one of yours read (again: no change)."""
    with ctx.db.write() as session:
        changed = handlers.mark_read(session, who.user_id, notification_id, now=ctx.clock())
        return {"id": notification_id, "changed": changed, "unread": unread_count(session, who.user_id)}


@router.post("/api/v1/notifications/read-all", tags=["notifications"])
def read_all_api(ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Mark all of yours read."""
    with ctx.db.write() as session:
        return {"marked": handlers.mark_all_read(session, who.user_id, now=ctx.clock()), "unread": 0}
