"""The qualification desk in the browser and the API: the desk's list of MQLs waiting for a
qualifying call, the form on the lead page (loaded into `_qualification.html` by HTMX, so the lead
page itself stays one include line) and its JSON twins."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from leadloop.access.repository import require_visible, visible
from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput
from leadloop.qualification import handlers as desk
from leadloop.qualification.model import Outcome
from leadloop.store.tables import Lead, User
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Qualifier, Staff, viewer_scope

router = APIRouter()
ANSWER = "a_"  # form names of the answers: a_<field> (the choice) and a_<field>_note
NOTE_LIMIT = 5000  # the most any form's note_max allows


def _panel(
    request: Request,
    ctx: AppContext,
    who: Principal,
    lead_id: int,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        view = desk.panel(session, lead_id, who)
    return ctx.templates.TemplateResponse(
        request,
        "_qualification_panel.html",
        {"q": view, "who": who, "error": error, "values": values, "message": message},
        status_code=status_code,
    )


@router.get("/leads/{lead_id}/qualification", response_class=HTMLResponse, include_in_schema=False)
def panel_page(request: Request, ctx: Ctx, who: Staff, lead_id: Id) -> Response:
    return _panel(request, ctx, who, lead_id)


def _answers_from_form(form: dict[str, str]) -> dict[str, object]:
    raw: dict[str, dict[str, str]] = {}
    for name, value in form.items():
        if not name.startswith(ANSWER):
            continue
        key = name[len(ANSWER) :]
        if key.endswith("_note"):
            raw.setdefault(key[: -len("_note")], {})["note"] = value
        else:
            raw.setdefault(key, {})["choice"] = value
    return dict(raw)


@router.post("/leads/{lead_id}/qualification", response_class=HTMLResponse, include_in_schema=False)
async def panel_post(request: Request, ctx: Ctx, who: Staff, lead_id: Id) -> Response:
    """One form, four buttons: save the answers, or save them and decide the outcome. A refusal
    shows the form again as it was typed, with the sentence that says what to change."""
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf_token"}
    action = values.get("action", "save")
    answers = _answers_from_form(values)
    done = {
        "save": "Answers saved.",
        "hand_over": "Qualified and handed over to field sales.",
        "nurture": "Sent back to nurture.",
        "disqualify": "Disqualified.",
    }
    if action not in done:
        return _panel(
            request,
            ctx,
            who,
            lead_id,
            error=f"unknown action {action[:40]!r}",
            values=values,
            status_code=422,
        )
    now = ctx.clock()
    to = values.get("to_user_id") or ""
    if to and not (to.isdigit() and len(to) < 10):
        return _panel(
            request,
            ctx,
            who,
            lead_id,
            error="choose a field rep from the list",
            values=values,
            status_code=422,
        )
    message = done[action]
    try:
        with ctx.db.write() as session:
            require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
            if action == "save":
                desk.save_answers(session, lead_id, who, answers, now=now)
            elif action == "hand_over":
                row = desk.hand_over(
                    session,
                    lead_id,
                    who,
                    now=now,
                    to_user_id=int(to) if to.isdigit() and len(to) < 10 else None,
                    note=values.get("outcome_note"),
                    answers=answers,
                )
                rep = session.get(User, row.handed_to_user_id) if row.handed_to_user_id else None
                message = f"Qualified and handed over to {rep.name}." if rep else message
            else:
                outcome = Outcome.NURTURE if action == "nurture" else Outcome.DISQUALIFIED
                desk.send_back(
                    session,
                    lead_id,
                    who,
                    outcome,
                    reason=values.get(f"{action}_reason") or None,
                    note=values.get("outcome_note"),
                    answers=answers,
                    now=now,
                )
            still_seen = visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
    except InvalidInput as err:
        return _panel(request, ctx, who, lead_id, error=str(err), values=values, status_code=422)
    if not still_seen:  # handed to a rep or sent back: no longer the BDR's to see
        return ctx.templates.TemplateResponse(
            request, "_qualification_panel.html", {"q": None, "who": who, "message": message}
        )
    return _panel(request, ctx, who, lead_id, message=message)


@router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
def desk_page(request: Request, ctx: Ctx, who: Qualifier) -> Response:
    with ctx.db.read() as session:
        rows = desk.desk(session, who, now=ctx.clock())
        form = desk.form_of(session)
    return ctx.templates.TemplateResponse(
        request, "desk.html", {"rows": rows, "form": form, "who": who, "now": ctx.clock()}
    )


@router.get("/api/v1/desk", tags=["qualification"])
def desk_api(ctx: Ctx, who: Qualifier) -> list[dict[str, Any]]:
    """The MQLs waiting for a qualifying call: the BDR queue's and the BDR's own, oldest first."""
    with ctx.db.read() as session:
        return [asdict(r) for r in desk.desk(session, who, now=ctx.clock())]


@router.get("/api/v1/qualification/form", tags=["qualification"])
def form_api(ctx: Ctx, who: Staff) -> dict[str, Any]:
    """The qualification form (from the active routing rule set) and the reasons to send a lead back."""
    with ctx.db.read() as session:
        return desk.form_of(session).model_dump(mode="json")


def _visit(v: desk.Visit | None) -> dict[str, Any] | None:
    if v is None:
        return None
    d = asdict(v)
    d["answers"] = {k: a.as_dict() for k, a in v.answers.items()}
    return d


def _panel_json(ctx: AppContext, who: Principal, lead_id: int) -> dict[str, Any]:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        view = desk.panel(session, lead_id, who)
    return {
        "lead_id": view.lead_id,
        "stage": view.stage,
        "current": _visit(view.visit),
        "past": [_visit(v) for v in view.past],
        "may_edit": view.may_edit,
        "may_decide": view.may_decide,
        "missing": view.missing,
        "field_reps": [{"id": i, "name": n} for i, n in view.reps],
    }


@router.get("/api/v1/leads/{lead_id}/qualification", tags=["qualification"])
def panel_api(ctx: Ctx, who: Staff, lead_id: Id) -> dict[str, Any]:
    """The lead's qualification: the answers being worked on (or handed over), past visits to the desk."""
    return _panel_json(ctx, who, lead_id)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswersIn(_In):
    answers: dict[str, Any] = Field(
        examples=[{"budget": {"choice": "approved", "note": "€40k signed off for Q3"}}],
        description="field key -> {choice, note}; an empty choice is 'not answered yet'",
    )


class HandOverIn(_In):
    to_user_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="a field rep; none: the routing rules choose"
    )
    note: str | None = Field(None, max_length=NOTE_LIMIT)
    answers: dict[str, Any] | None = None


class SendBackIn(_In):
    reason: str | None = Field(None, max_length=100, description="a reason code from the form's list")
    note: str | None = Field(None, max_length=NOTE_LIMIT)
    answers: dict[str, Any] | None = None


@router.put("/api/v1/leads/{lead_id}/qualification", tags=["qualification"])
def save_api(ctx: Ctx, who: Staff, lead_id: Id, body: Annotated[AnswersIn, Body()]) -> dict[str, Any]:
    """Save the answers of the qualifying call (every field; one left out is 'not answered yet')."""
    with ctx.db.write() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        desk.save_answers(session, lead_id, who, body.answers, now=ctx.clock())
    return _panel_json(ctx, who, lead_id)


@router.post("/api/v1/leads/{lead_id}/qualification/hand-over", tags=["qualification"])
def hand_over_api(ctx: Ctx, who: Staff, lead_id: Id, body: Annotated[HandOverIn, Body()]) -> dict[str, Any]:
    """Qualified: hand the lead to a field rep (picked, or the routing rules' choice) with the notes."""
    with ctx.db.write() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        row = desk.hand_over(
            session,
            lead_id,
            who,
            now=ctx.clock(),
            to_user_id=body.to_user_id,
            note=body.note,
            answers=body.answers,
        )
        lead = session.get_one(Lead, lead_id)
        return {
            "id": lead_id,
            "stage": lead.stage,
            "owner_user_id": lead.owner_user_id,
            "qualification_id": row.id,
        }


def _send_back(
    ctx: AppContext, who: Principal, lead_id: int, outcome: Outcome, body: SendBackIn
) -> dict[str, Any]:
    with ctx.db.write() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        row = desk.send_back(
            session,
            lead_id,
            who,
            outcome,
            reason=body.reason,
            note=body.note,
            answers=body.answers,
            now=ctx.clock(),
        )
        lead = session.get_one(Lead, lead_id)
        return {"id": lead_id, "stage": lead.stage, "reason": row.reason, "reason_label": row.reason_label}


@router.post("/api/v1/leads/{lead_id}/qualification/nurture", tags=["qualification"])
def nurture_api(ctx: Ctx, who: Staff, lead_id: Id, body: Annotated[SendBackIn, Body()]) -> dict[str, Any]:
    """Not ready yet: back to marketing's nurture with a reason from the form's list."""
    return _send_back(ctx, who, lead_id, Outcome.NURTURE, body)


@router.post("/api/v1/leads/{lead_id}/qualification/disqualify", tags=["qualification"])
def disqualify_api(ctx: Ctx, who: Staff, lead_id: Id, body: Annotated[SendBackIn, Body()]) -> dict[str, Any]:
    """Not a buyer: disqualified with a reason; the lead waits in the remarketing pool (no lead dies)."""
    return _send_back(ctx, who, lead_id, Outcome.DISQUALIFIED, body)
