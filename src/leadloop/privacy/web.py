"""GDPR for admins: export everything held on a person (API, and a button on the person page) and
erase a person (API, and a form on the person page that asks to type the word). Both audited."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from leadloop.auth import audit
from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput
from leadloop.privacy.erase import erase_person
from leadloop.privacy.export import export_person
from leadloop.web.context import AppContext
from leadloop.web.deps import Admin, Ctx, Id

router = APIRouter()
CONFIRM_WORD = "ERASE"


class ErasedRead(BaseModel):
    person_id: int
    people: int
    activities: int


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _export(request: Request, ctx: AppContext, who: Principal, person_id: int) -> dict[str, Any]:
    now = ctx.clock()
    with ctx.db.write() as session:
        data = export_person(session, person_id, now=now)
        audit.record(
            session,
            "person.exported",
            at=now,
            actor_user_id=who.user_id,
            subject=f"person #{data['person']['id']}",
            ip=_ip(request),
            detail={"activities": len(data["activities"])},
        )
    return data


@router.get("/api/v1/people/{person_id}/export", tags=["privacy"])
def export_api(request: Request, person_id: Id, ctx: Ctx, who: Admin) -> dict[str, Any]:
    """Everything held on the person and everyone merged into them, as one JSON document."""
    return _export(request, ctx, who, person_id)


@router.get("/people/{person_id}/export.json", include_in_schema=False)
def export_download(request: Request, person_id: Id, ctx: Ctx, who: Admin) -> Response:
    data = _export(request, ctx, who, person_id)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="person-{data["person"]["id"]}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/api/v1/people/{person_id}/erase", tags=["privacy"])
def erase_api(request: Request, person_id: Id, ctx: Ctx, who: Admin) -> ErasedRead:
    """Erase the person (and everyone merged into them) at their request: their data is removed,
    their activities stay anonymised so every report adds up, and they are never captured again."""
    with ctx.db.write() as session:
        done = erase_person(session, person_id, now=ctx.clock(), by_user_id=who.user_id, ip=_ip(request))
    return ErasedRead(person_id=done.person_id, people=done.people, activities=done.activities)


@router.post("/people/{person_id}/erase", response_class=HTMLResponse, include_in_schema=False)
def erase_form(
    request: Request,
    person_id: Id,
    ctx: Ctx,
    who: Admin,
    confirm: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if confirm.strip() != CONFIRM_WORD:
        raise InvalidInput(f"type {CONFIRM_WORD} in the box to erase this person; nothing was erased")
    with ctx.db.write() as session:
        done = erase_person(session, person_id, now=ctx.clock(), by_user_id=who.user_id, ip=_ip(request))
    return RedirectResponse(f"/people/{done.person_id}#consent", status_code=303)
