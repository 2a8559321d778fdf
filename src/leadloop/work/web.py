"""The workbench in the browser and the API: log a touch with its outcome, notes on leads, people
and accounts, tasks and follow-ups. Browser forms answer with a redirect (post, redirect, get):
to the page they came from, or, for an HTMX post from the inbox, to the inbox row, which HTMX
follows and swaps in."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field

from leadloop.access.repository import require_visible
from leadloop.auth.model import Principal
from leadloop.core.bounds import MAX_ID
from leadloop.core.errors import InvalidInput
from leadloop.store.tables import Lead, Note, Task
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Staff, viewer_scope
from leadloop.work import handlers
from leadloop.work.model import Subject, due_from_form, subject
from leadloop.work.queries import (
    Contact,
    LeadWork,
    lead_work,
    my_tasks,
    notes_of,
    tasks_of,
    user_zone,
)

router = APIRouter()

Back = Literal["lead", "inbox", "record"]
# Generous caps at the door (the rules say the friendly limit: a note of 2,000 characters).
Text = Annotated[str, Form(max_length=10_000)]
FormId = Annotated[int | None, Form(ge=1, le=MAX_ID)]
_PATHS = {Subject.LEAD: "leads", Subject.PERSON: "people", Subject.ACCOUNT: "accounts"}


def _back(request: Request, back: str, kind: Subject, record_id: int, done: str) -> Response:
    """Where a form goes after it saved: the inbox row (HTMX), the inbox, or the record's page."""
    if back == "inbox" and kind is Subject.LEAD:
        if request.headers.get("hx-request"):
            return RedirectResponse(f"/inbox/rows/{record_id}?done={done}", status_code=303)
        return RedirectResponse(f"/inbox?done={done}#lead-{record_id}", status_code=303)
    if back == "inbox":
        return RedirectResponse(f"/inbox?done={done}#tasks", status_code=303)
    if request.headers.get("hx-request") and kind is not Subject.LEAD:
        return RedirectResponse(f"/{_PATHS[kind]}/{record_id}/work?done={done}", status_code=303)
    return RedirectResponse(f"/{_PATHS[kind]}/{record_id}?done={done}#work", status_code=303)


# Logging a touch


@router.post("/leads/{lead_id}/touches", response_class=HTMLResponse, include_in_schema=False)
def touch_form(
    request: Request,
    ctx: Ctx,
    who: Staff,
    lead_id: Id,
    kind: Annotated[str, Form(max_length=20)] = "call",
    outcome: Annotated[str, Form(max_length=30)] = "",
    note: Text = "",
    person_id: FormId = None,
    back: Annotated[Back, Form()] = "lead",
) -> Response:
    with ctx.db.write() as session:
        done, _ = handlers.log_touch(
            session, lead_id, who, kind=kind, outcome=outcome, note=note, person_id=person_id, now=ctx.clock()
        )
    return _back(request, back, Subject.LEAD, lead_id, f"{done.kind.value}:{done.outcome.value}")


class TouchCreate(BaseModel):
    kind: str = Field("call", max_length=20, description="call | meeting | email_sent")
    outcome: str = Field(
        max_length=30, description="connected | voicemail | no_answer | meeting_booked | not_interested"
    )
    note: str | None = Field(None, max_length=10_000, description="up to 2,000 characters")
    person_id: int | None = Field(None, ge=1, le=MAX_ID, description="the contact reached")


@router.post("/api/v1/leads/{lead_id}/touches", tags=["workbench"], status_code=201)
def touch_api(ctx: Ctx, who: Staff, lead_id: Id, body: TouchCreate) -> dict[str, Any]:
    """Log a call, meeting or e-mail with its outcome: it lands in the activity log and, if it is
    the lead's first touch, stops its SLA clock. Only the owner, their manager or an admin."""
    with ctx.db.write() as session:
        done, _ = handlers.log_touch(
            session,
            lead_id,
            who,
            kind=body.kind,
            outcome=body.outcome,
            note=body.note,
            person_id=body.person_id,
            now=ctx.clock(),
        )
        lead = session.get(Lead, lead_id)
        assert lead is not None
        return {
            "lead_id": lead_id,
            "kind": done.kind.value,
            "outcome": done.outcome.value,
            "note": done.note,
            "stage": lead.stage,
            "first_touch_at": lead.first_touch_at,
        }


def _contact(c: Contact) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "title": c.title,
        "role": c.role or None,
        "department": c.department,
        "phone": c.phone,
        "email": c.email,
        "engaged": c.engaged,
        "last_activity_at": c.last_activity_at,
        "recent": [
            {"type": a.type, "occurred_at": a.occurred_at, "outcome": a.outcome or None, "note": a.note}
            for a in c.recent
        ],
    }


def lead_workbench(ctx: AppContext, who: Principal, lead_id: int) -> LeadWork:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Lead, lead_id)
        lead = session.get_one(Lead, lead_id)
        return lead_work(session, [lead])[lead_id]


@router.get("/api/v1/leads/{lead_id}/contacts", tags=["workbench"])
def contacts_api(ctx: Ctx, who: Staff, lead_id: Id) -> dict[str, Any]:
    """The lead's contacts (engaged with its product first, then the account's other people), each
    with their last activities, and "why now": the activity that made the lead hot."""
    work = lead_workbench(ctx, who, lead_id)
    why = work.why
    return {
        "lead_id": lead_id,
        "why_now": None
        if why is None
        else {
            "type": why.type,
            "occurred_at": why.occurred_at,
            "reason": why.reason,
            "person_id": why.person_id,
            "person": why.person,
            "explanation": why.explanation,
        },
        "contacts": [_contact(c) for c in work.contacts],
        "others": [_contact(c) for c in work.others],
    }


# Notes


def _note(n: Note | Any) -> dict[str, Any]:
    return {"id": n.id, "author": getattr(n, "author", None), "created_at": n.created_at, "body": n.body}


class NoteCreate(BaseModel):
    body: str = Field(max_length=10_000, description="up to 2,000 characters")


def _note_routes(kind: Subject) -> None:
    path = _PATHS[kind]

    @router.post(f"/{path}/{{record_id}}/notes", response_class=HTMLResponse, include_in_schema=False)
    def note_form(
        request: Request,
        ctx: Ctx,
        who: Staff,
        record_id: Id,
        body: Text = "",
        back: Annotated[Back, Form()] = "record",
    ) -> Response:
        with ctx.db.write() as session:
            handlers.add_note(
                session, viewer_scope(session, ctx, who), who, kind.value, record_id, body, now=ctx.clock()
            )
        return _back(request, back, kind, record_id, "note")

    @router.get(f"/api/v1/{path}/{{record_id}}/notes", tags=["workbench"])
    def notes_api(ctx: Ctx, who: Staff, record_id: Id) -> list[dict[str, Any]]:
        """The notes on this record, newest first (whoever may see the record sees them)."""
        with ctx.db.read() as session:
            require_visible(session, viewer_scope(session, ctx, who), handlers.ENTITY[kind], record_id)
            return [_note(n) for n in notes_of(session, kind, record_id)]

    @router.post(f"/api/v1/{path}/{{record_id}}/notes", tags=["workbench"], status_code=201)
    def note_api(ctx: Ctx, who: Staff, record_id: Id, body: NoteCreate) -> dict[str, Any]:
        """Write a note on this record (author and time are yours and now)."""
        with ctx.db.write() as session:
            note = handlers.add_note(
                session,
                viewer_scope(session, ctx, who),
                who,
                kind.value,
                record_id,
                body.body,
                now=ctx.clock(),
            )
            return {**_note(note), "author": who.name}

    if kind is not Subject.LEAD:

        @router.get(f"/{path}/{{record_id}}/work", response_class=HTMLResponse, include_in_schema=False)
        def record_work(
            request: Request,
            ctx: Ctx,
            who: Staff,
            record_id: Id,
            done: Annotated[str, Query(max_length=40)] = "",
        ) -> Response:
            """The notes and tasks of a person or an account (loaded into its page by HTMX)."""
            now = ctx.clock()
            with ctx.db.read() as session:
                require_visible(session, viewer_scope(session, ctx, who), handlers.ENTITY[kind], record_id)
                context = {
                    "about": kind.value,
                    "record_id": record_id,
                    "notes": notes_of(session, kind, record_id),
                    "tasks": tasks_of(session, kind, record_id, now=now, tz=user_zone(session, who.user_id)),
                    "saved": done in ("note", "task"),
                    "today": now.astimezone(user_zone(session, who.user_id)).date(),
                }
            return ctx.templates.TemplateResponse(request, "_work_record.html", context)


for _kind in Subject:
    _note_routes(_kind)


# Tasks


@router.post("/tasks", response_class=HTMLResponse, include_in_schema=False)
def task_form(
    request: Request,
    ctx: Ctx,
    who: Staff,
    title: Annotated[str, Form(max_length=1000)] = "",
    due_date: Annotated[str, Form(max_length=10)] = "",
    due_time: Annotated[str, Form(max_length=8)] = "",
    about: Annotated[str, Form(max_length=10)] = "lead",
    record_id: Annotated[int, Form(ge=1, le=MAX_ID)] = 1,
    back: Annotated[Back, Form()] = "record",
) -> Response:
    kind = subject(about)
    with ctx.db.write() as session:
        due_at = due_from_form(_date(due_date), _time(due_time), user_zone(session, who.user_id))
        handlers.add_task(
            session,
            viewer_scope(session, ctx, who),
            who,
            title=title,
            due_at=due_at,
            about=kind.value,
            record_id=record_id,
            now=ctx.clock(),
        )
    return _back(request, back, kind, record_id, "task")


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"the due date {raw!r} is not a date: pick one (YYYY-MM-DD)") from None


def _time(raw: str) -> time | None:
    if not raw.strip():
        return None
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            f"the due time {raw!r} is not a time of day: use HH:MM, or leave it empty for 09:00"
        ) from None


def _after_task(back: str, kind: Subject, record_id: int, done: str) -> Response:
    if back == "inbox":
        return RedirectResponse(f"/inbox?done={done}#tasks", status_code=303)
    return RedirectResponse(f"/{_PATHS[kind]}/{record_id}?done={done}#work", status_code=303)


@router.post("/tasks/{task_id}/done", response_class=HTMLResponse, include_in_schema=False)
def task_done_form(ctx: Ctx, who: Staff, task_id: Id, back: Annotated[Back, Form()] = "inbox") -> Response:
    with ctx.db.write() as session:
        kind, record_id = handlers.task_subject(
            handlers.complete_task(session, who, task_id, now=ctx.clock())
        )
    return _after_task(back, kind, record_id, "done")


@router.post("/tasks/{task_id}/reopen", response_class=HTMLResponse, include_in_schema=False)
def task_reopen_form(ctx: Ctx, who: Staff, task_id: Id, back: Annotated[Back, Form()] = "inbox") -> Response:
    with ctx.db.write() as session:
        kind, record_id = handlers.task_subject(handlers.reopen_task(session, who, task_id, now=ctx.clock()))
    return _after_task(back, kind, record_id, "reopened")


class TaskCreate(BaseModel):
    title: str = Field(max_length=1000, description="up to 200 characters")
    due_at: AwareDatetime = Field(description="when it is due, with its offset (UTC: Z)")
    about: Literal["lead", "person", "account"] = "lead"
    record_id: int = Field(ge=1, le=MAX_ID, description="the lead's, person's or account's id")
    owner_user_id: int | None = Field(None, ge=1, le=MAX_ID, description="default: you")


def _task(t: Any) -> dict[str, Any]:
    return {
        "id": t.id,
        "title": t.title,
        "due_at": t.due_at,
        "due": t.due.value,
        "owner": t.owner,
        "about": t.about,
        "link": t.link,
        "done_at": t.done_at,
    }


@router.get("/api/v1/tasks", tags=["workbench"])
def tasks_api(ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Your open tasks, overdue, due today (your time zone) and upcoming, and those done today."""
    with ctx.db.read() as session:
        mine = my_tasks(session, who.user_id, now=ctx.clock())
    return {
        "overdue": [_task(t) for t in mine.overdue],
        "today": [_task(t) for t in mine.today],
        "upcoming": [_task(t) for t in mine.upcoming],
        "done": [_task(t) for t in mine.done],
    }


@router.post("/api/v1/tasks", tags=["workbench"], status_code=201)
def task_api(ctx: Ctx, who: Staff, body: TaskCreate) -> dict[str, Any]:
    """Set a task or follow-up; a reminder goes out by e-mail and in the app when it is due."""
    with ctx.db.write() as session:
        task = handlers.add_task(
            session,
            viewer_scope(session, ctx, who),
            who,
            title=body.title,
            due_at=body.due_at,
            about=body.about,
            record_id=body.record_id,
            owner_user_id=body.owner_user_id,
            now=ctx.clock(),
        )
        return _task_row(task)


def _task_row(task: Task) -> dict[str, Any]:
    kind, record_id = handlers.task_subject(task)
    return {
        "id": task.id,
        "title": task.title,
        "due_at": task.due_at,
        "owner_user_id": task.owner_user_id,
        "about": kind.value,
        "record_id": record_id,
        "done_at": task.done_at,
    }


@router.post("/api/v1/tasks/{task_id}/done", tags=["workbench"])
def task_done_api(ctx: Ctx, who: Staff, task_id: Id) -> dict[str, Any]:
    """Complete a task of yours (doing it twice changes nothing)."""
    with ctx.db.write() as session:
        return _task_row(handlers.complete_task(session, who, task_id, now=ctx.clock()))


@router.post("/api/v1/tasks/{task_id}/reopen", tags=["workbench"])
def task_reopen_api(ctx: Ctx, who: Staff, task_id: Id) -> dict[str, Any]:
    """Open a finished task again."""
    with ctx.db.write() as session:
        return _task_row(handlers.reopen_task(session, who, task_id, now=ctx.clock()))
