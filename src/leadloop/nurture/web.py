"""Sequence pages and API, thin: the versions editor and what-if come from the documents machine;
here are enrolling people (one from their page, many through the API), stopping an enrolment, a
person's enrolments, and the sequence report."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from leadloop.access.repository import require_visible, visible_ids
from leadloop.auth.model import WRITERS
from leadloop.core.errors import InvalidInput, NotFound
from leadloop.documents.web import Pages, document_router
from leadloop.nurture import handlers, mailing, queries
from leadloop.nurture.handlers import MAX_BULK
from leadloop.nurture.kind import SEQUENCES
from leadloop.store.tables import Enrolment, Lead, Person
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, Staff, Writer, viewer_scope
from leadloop.web.listing import csv_answer


def _report(session: Session) -> dict[str, Any]:
    return {"report": queries.report(session), "mailing": mailing.pieces(session)}


PAGES = Pages(
    kind=SEQUENCES,
    items="versions",
    heading="Sequences",
    intro="A drip as YAML: triggers, re-entry, the send window in each person's own time zone, who it is "
    "sent from, and the steps (email, wait, branch, task, webhook, direct_mail, stage). Each active name runs by "
    "itself; people finish the version they entered with.",
    empty="None saved yet: the example below is a start.",
    preview_button="Who would enter today, and what they would get",
    activate_button="Activate",
    activated="New enrolments take this version from now on.",
    summary_template="_sequences_summary.html",
    page_template="sequences.html",
    extra=_report,
)
router = APIRouter()
router.include_router(document_router(PAGES))


class EnrolCreate(BaseModel):
    person_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=MAX_BULK)
    lead_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.post("/api/v1/sequences/{name}/enrolments", tags=["sequences"], status_code=201)
def enrol_api(ctx: Ctx, who: Writer, name: str, body: EnrolCreate) -> dict[str, Any]:
    """Enrol people by hand, one or many (up to 10,000 a request), in the active version of a
    sequence. Each refusal comes back with its reason (already in it, the re-entry policy). Only
    people the caller may see; a lead must be on the account of every person named with it."""
    with ctx.db.write() as session:
        scope = viewer_scope(session, ctx, who)
        found = queries.accounts_of_visible(session, visible_ids(scope, Person), body.person_ids)
        hidden = sorted(set(body.person_ids) - set(found))  # unknown or not theirs: the same answer
        if body.lead_id is not None:
            require_visible(session, scope, Lead, body.lead_id)
            strangers = queries.off_the_lead(session, body.lead_id, found)
            if strangers:
                raise InvalidInput(f"lead #{body.lead_id} is not on the account of person #{strangers[0]}")
        done = handlers.enrol(
            session,
            name,
            [(p, body.lead_id) for p in body.person_ids if p in found],
            trigger="manual",
            by_user_id=who.user_id,
            now=ctx.clock(),
        )
    done.refused += [(p, "there is no such person") for p in hidden]
    return done.summary()


@router.post("/api/v1/sequences/{name}/retire", tags=["sequences"])
def retire_api(ctx: Ctx, who: Writer, name: str, stop_running: bool = False) -> dict[str, Any]:
    """Nobody new enters the sequence; with `stop_running`, the people in it leave too (otherwise
    they finish the version they entered with)."""
    with ctx.db.write() as session:
        ended = handlers.retire(session, name, stop_running=stop_running, now=ctx.clock())
    return {"sequence": name, "status": "retired", "stopped": len(ended)}


@router.post("/api/v1/enrolments/{enrolment_id}/exit", tags=["sequences"])
def exit_api(ctx: Ctx, who: Writer, enrolment_id: Id) -> dict[str, Any]:
    """Stop an enrolment: its next step never runs."""
    with ctx.db.write() as session:
        found = session.get(Enrolment, enrolment_id)
        if found is not None:
            require_visible(session, viewer_scope(session, ctx, who), Person, found.person_id)
        e = handlers.exit_by_hand(session, enrolment_id, by_user_id=who.user_id, now=ctx.clock())
        return {"id": e.id, "state": e.state, "exit_reason": e.exit_reason}


@router.get("/api/v1/people/{person_id}/enrolments", tags=["sequences"])
def person_enrolments_api(ctx: Ctx, who: Staff, person_id: Id) -> list[dict[str, Any]]:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Person, person_id)
        return [v.json() for v in queries.person_enrolments(session, person_id)]


@router.get("/api/v1/sequences/report", tags=["sequences"])
def report_api(ctx: Ctx, who: Staff) -> list[dict[str, Any]]:
    """Per sequence: enrolled, active, completed, sent, opened, clicked, deferred, exited by reason."""
    with ctx.db.read() as session:
        return [r.json() for r in queries.report(session)]


@router.get("/api/v1/sequences/{name}/direct-mail.csv", tags=["sequences"])
def direct_mail_csv(
    request: Request,
    ctx: Ctx,
    who: Staff,
    name: str,
    piece: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    since: Annotated[
        datetime | None, Query(description="only the people listed from then on (UTC unless it says)")
    ] = None,
) -> Response:
    """The sequence's mailing list for a print house, as CSV (name, company, street, postcode, city,
    state, country, piece, enrolment, listed_at): the people its `direct_mail: {via: list}` steps
    listed, at their address as it is now, each once per piece. Reading it marks nothing; `since`
    takes only the rows listed from then on. Audited like every export."""
    with ctx.db.read() as session:
        if not mailing.known_sequence(session, name):
            raise NotFound(f"there is no sequence called {name!r}")
        scope = viewer_scope(session, ctx, who)
    after = (
        None
        if since is None
        else since.replace(tzinfo=UTC)
        if since.tzinfo is None
        else since.astimezone(UTC)
    )
    return csv_answer(
        ctx,
        who,
        request,
        "direct-mail-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "sequence"),
        mailing.HEADER,
        lambda s: mailing.rows(s, name, piece=piece, since=after, scope=scope),
    )


# The person page's section (loaded by HTMX), its enrol button and stop buttons.
def _section(
    request: Request, ctx: AppContext, who: Any, person_id: int, *, message: str | None = None
) -> Response:
    with ctx.db.read() as session:
        require_visible(session, viewer_scope(session, ctx, who), Person, person_id)
        context = {
            "person_id": person_id,
            "enrolments": queries.person_enrolments(session, person_id),
            "sequences": queries.enrollable(session),
            "may_enrol": who.may(WRITERS),
            "message": message,
        }
    return ctx.templates.TemplateResponse(request, "_person_sequences.html", context)


@router.get("/people/{person_id}/sequences", response_class=HTMLResponse, include_in_schema=False)
def person_sequences(request: Request, ctx: Ctx, who: Staff, person_id: Id) -> Response:
    return _section(request, ctx, who, person_id)


@router.post("/people/{person_id}/sequences", response_class=HTMLResponse, include_in_schema=False)
def enrol_form(
    request: Request,
    ctx: Ctx,
    who: Writer,
    person_id: Id,
    sequence: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    with ctx.db.write() as session:
        require_visible(session, viewer_scope(session, ctx, who), Person, person_id)
        done = handlers.enrol(
            session, sequence, [(person_id, None)], trigger="manual", by_user_id=who.user_id, now=ctx.clock()
        )
    message = (
        f"Enrolled in {sequence}." if done.enrolled else f"Not enrolled in {sequence}: {done.refused[0][1]}."
    )
    return _after(request, ctx, who, person_id, message)


@router.post("/enrolments/{enrolment_id}/exit", response_class=HTMLResponse, include_in_schema=False)
def exit_form(request: Request, ctx: Ctx, who: Writer, enrolment_id: Id) -> Response:
    with ctx.db.write() as session:
        e = session.get(Enrolment, enrolment_id)
        person_id = e.person_id if e is not None else 0
        if e is not None:
            require_visible(session, viewer_scope(session, ctx, who), Person, person_id)
        e = handlers.exit_by_hand(session, enrolment_id, by_user_id=who.user_id, now=ctx.clock())
        name = e.sequence_name
    return _after(request, ctx, who, person_id, f"Stopped {name}.")


def _after(request: Request, ctx: AppContext, who: Any, person_id: int, message: str) -> Response:
    if request.headers.get("hx-request"):
        return _section(request, ctx, who, person_id, message=message)
    return RedirectResponse(f"/people/{person_id}", status_code=303)
