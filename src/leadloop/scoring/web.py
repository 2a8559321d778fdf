"""The scoring admin: models as versioned documents, edited as YAML in the browser, previewed
(what-if, nothing written) and activated; and the predictive model's report. JSON twins under
/api/v1/scoring."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.core.errors import InvalidInput, NotFound
from leadloop.core.yamldoc import problems_of
from leadloop.scoring.document import parse_model
from leadloop.scoring.models import activate, preview, save_draft
from leadloop.scoring.predictive import active_report
from leadloop.scoring.repository import active_model
from leadloop.store.tables import ScoringModelRow
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Staff, Writer

router = APIRouter()
MAX_DOCUMENT = 200_000


def _models(session: Any) -> list[ScoringModelRow]:
    return list(session.scalars(sa.select(ScoringModelRow).order_by(ScoringModelRow.id.desc())))


def _page(
    request: Request, ctx: AppContext, *, text: str | None = None, problems: Any = None, status: int = 200
) -> Response:
    with ctx.db.read() as session:
        model, active_id = active_model(session)
        rows = _models(session)
        predictive = active_report(session)
        if text is None:
            text = model.model_copy(
                update={"version": ScoringModelRow.next_version(session, model.name, model.version)}
            ).to_yaml()
    return ctx.templates.TemplateResponse(
        request,
        "scoring.html",
        {
            "rows": rows,
            "active_id": active_id,
            "text": text,
            "problems": problems or [],
            "predictive": predictive,
        },
        status_code=status,
    )


@router.get("/scoring", response_class=HTMLResponse, include_in_schema=False)
def scoring_page(request: Request, ctx: Ctx, who: Staff, start: int | None = None) -> Response:
    text = None
    if start is not None:
        with ctx.db.read() as session:
            row = session.get(ScoringModelRow, start)
            if row is None:
                raise NotFound(f"there is no scoring model #{start}")
            model = parse_model(row.document)
            text = model.model_copy(
                update={"version": ScoringModelRow.next_version(session, model.name, model.version)}
            ).to_yaml()
    return _page(request, ctx, text=text)


@router.post("/scoring/preview", response_class=HTMLResponse, include_in_schema=False)
def preview_fragment(
    request: Request, ctx: Ctx, who: Writer, document: Annotated[str, Form(max_length=MAX_DOCUMENT)] = ""
) -> Response:
    """What-if for the text in the editor, saved or not. Writes nothing."""
    try:
        model = parse_model(document)
        with ctx.db.read() as session:
            summary = preview(session, model, now=ctx.clock()).summary()
    except InvalidInput as exc:
        return ctx.templates.TemplateResponse(
            request, "_scoring_preview.html", {"problems": problems_of(exc)}
        )
    return ctx.templates.TemplateResponse(
        request, "_scoring_preview.html", {"summary": summary, "problems": []}
    )


@router.post("/scoring/models", include_in_schema=False)
def save_page(
    request: Request, ctx: Ctx, who: Writer, document: Annotated[str, Form(max_length=MAX_DOCUMENT)] = ""
) -> Response:
    try:
        with ctx.db.write() as session:
            model_id = save_draft(session, document, now=ctx.clock())
    except InvalidInput as exc:  # the text comes back as typed, with every problem by line
        return _page(request, ctx, text=document, problems=problems_of(exc), status=422)
    return RedirectResponse(f"/scoring/models/{model_id}", status_code=303)


@router.get("/scoring/models/{model_id}", response_class=HTMLResponse, include_in_schema=False)
def model_page(request: Request, ctx: Ctx, who: Staff, model_id: int) -> Response:
    with ctx.db.read() as session:
        row = session.get(ScoringModelRow, model_id)
        if row is None:
            raise NotFound(f"there is no scoring model #{model_id}")
        summary = (
            None
            if row.status == "active"
            else preview(session, parse_model(row.document), now=ctx.clock()).summary()
        )
    return ctx.templates.TemplateResponse(request, "scoring_model.html", {"row": row, "summary": summary})


def _activate(ctx: AppContext, model_id: int) -> dict[str, Any]:
    now = ctx.clock()
    with ctx.db.write() as session:
        result, _ = activate(session, model_id, now=now)
    return result.summary()


@router.post("/scoring/models/{model_id}/activate", include_in_schema=False)
def activate_page(ctx: Ctx, who: Writer, model_id: int) -> Response:
    _activate(ctx, model_id)
    return RedirectResponse(f"/scoring/models/{model_id}?activated=1", status_code=303)


# JSON twins


def _row_json(row: ScoringModelRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "status": row.status,
        "created_at": row.created_at,
        "activated_at": row.activated_at,
    }


@router.get("/api/v1/scoring/models", tags=["scoring"])
def models_api(ctx: Ctx, who: Staff) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        return [_row_json(r) for r in _models(session)]


@router.get("/api/v1/scoring/models/{model_id}", tags=["scoring"])
def model_api(ctx: Ctx, who: Staff, model_id: int) -> dict[str, Any]:
    with ctx.db.read() as session:
        row = session.get(ScoringModelRow, model_id)
        if row is None:
            raise NotFound(f"there is no scoring model #{model_id}")
        return {**_row_json(row), "document": row.document}


@router.post("/api/v1/scoring/models", tags=["scoring"], status_code=201)
def create_model_api(
    ctx: Ctx,
    who: Writer,
    document: Annotated[
        str, Body(media_type="application/yaml", max_length=MAX_DOCUMENT, description="the model as YAML")
    ],
) -> dict[str, Any]:
    """Save a model as a draft. A bad document gets 422 with every problem and its line."""
    with ctx.db.write() as session:
        model_id = save_draft(session, document, now=ctx.clock())
    return {"id": model_id, "status": "draft"}


@router.get("/api/v1/scoring/models/{model_id}/whatif", tags=["scoring"])
def whatif_api(ctx: Ctx, who: Staff, model_id: int) -> dict[str, Any]:
    """What activating the model would change, with examples. Writes nothing."""
    with ctx.db.read() as session:
        row = session.get(ScoringModelRow, model_id)
        if row is None:
            raise NotFound(f"there is no scoring model #{model_id}")
        return preview(session, parse_model(row.document), now=ctx.clock()).summary()


@router.post("/api/v1/scoring/models/{model_id}/activate", tags=["scoring"])
def activate_api(ctx: Ctx, who: Writer, model_id: int) -> dict[str, Any]:
    """Activate: every score is recomputed with the model, in one transaction."""
    return {"id": model_id, "status": "active", **_activate(ctx, model_id)}
