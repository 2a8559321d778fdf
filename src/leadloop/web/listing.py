"""What every list page shares on the web side: the filters as a query string, the saved views,
the bulk selection, and the CSV export answer (audited, streamed, bounded)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from leadloop.auth import audit
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import InvalidInput
from leadloop.lists.export import csv_stream
from leadloop.lists.model import EXPORT_LIMIT, MAX_SELECTED, PAGE_SIZES, selected_ids
from leadloop.lists.views import views_of
from leadloop.segments.queries import segment_choices
from leadloop.web.context import AppContext

BULK_ASSIGN_ROLES = (Role.MANAGER, Role.ADMIN)


def current_query(request: Request, *, drop: Iterable[str] = ("page",)) -> str:
    """The request's filters, as a query string, without the page (a saved view, an export and a
    page-size change all start from here)."""
    skip = set(drop)
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k not in skip and v])


def filter_from(cls: type[Any], request: Request, **fixed: Any) -> Any:
    """A list's filter dataclass from the query string: each field it declares, by name; numbers
    that do not parse are left to the filter's defaults (its `clean` bounds the rest)."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        raw = request.query_params.get(f.name)
        if raw is None or raw == "":
            continue
        if f.type in ("int", int, "int | None"):
            if raw.lstrip("-").isdigit() and len(raw) <= 11:
                values[f.name] = int(raw)
        else:
            values[f.name] = raw[:200]
    values.update(fixed)
    return cls(**values)


def list_context(
    request: Request, session: Session, who: Principal, list_name: str, *, noun: str, plural: str
) -> dict[str, Any]:
    """The parts of a list page's context that every list has: its name and nouns, the current
    filters, the page sizes, the viewer's saved views of it, and whether bulk assignment is theirs."""
    return {
        "list_name": list_name,
        "noun": noun,
        "plural": plural,
        "current": current_query(request),
        "page_sizes": PAGE_SIZES,
        "views": views_of(session, who.user_id, list_name),
        "segments": segment_choices(session),  # the `segment=` filter (segments/)
        "may_assign": who.role in BULK_ASSIGN_ROLES and list_name == "leads",
        "export_limit": EXPORT_LIMIT,
        "max_selected": MAX_SELECTED,
    }


async def ticked(request: Request, name: str) -> list[int]:
    """The ids ticked in a bulk form; none ticked is a mistake the person can fix."""
    form = await request.form()
    ids = selected_ids([v for v in form.getlist(name) if isinstance(v, str)])
    if not ids:
        raise InvalidInput("tick at least one row first, then choose what to do with them")
    return ids


def csv_answer(
    ctx: AppContext,
    who: Principal,
    request: Request,
    list_name: str,
    header: list[str],
    rows: Callable[[Session], Iterable[tuple[Any, ...]]],
    *,
    selected: int | None = None,
) -> StreamingResponse:
    """Record the export (who, what, which filters), then stream it."""
    now = ctx.clock()
    with ctx.db.write() as session:
        audit.record(
            session,
            "export",
            at=now,
            actor_user_id=who.user_id,
            subject=list_name,
            ip=request.client.host if request.client else None,
            detail={"filters": current_query(request), "selected": selected, "limit": EXPORT_LIMIT},
        )
    name = f"{list_name}-{now:%Y-%m-%d}.csv"
    return StreamingResponse(
        csv_stream(ctx.db, header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Export-Limit": str(EXPORT_LIMIT),
        },
    )
