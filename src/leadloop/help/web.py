"""Help: the guide for the signed-in role first, and the others one click away."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from leadloop.core.errors import NotFound
from leadloop.help.guides import FOR_ROLE, TITLES, Guide, image, render
from leadloop.web.deps import Ctx, Staff

router = APIRouter()


@router.get("/help", include_in_schema=False)
def help_home(who: Staff) -> Response:
    return RedirectResponse(f"/help/{FOR_ROLE.get(who.role.value, Guide.REP).value}", status_code=303)


@router.get("/help/img/{name}", include_in_schema=False)
def help_image(who: Staff, name: str) -> Response:
    path = image(name)
    if path is None:
        raise NotFound("no such screenshot in the guide")
    return FileResponse(path, media_type="image/png")


@router.get("/help/{guide}", response_class=HTMLResponse, include_in_schema=False)
def help_page(request: Request, ctx: Ctx, who: Staff, guide: Guide) -> Response:
    return ctx.templates.TemplateResponse(
        request, "help.html", {"page": render(guide), "guides": list(TITLES.items())}
    )
