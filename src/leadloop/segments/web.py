"""Segment pages and their JSON twins: the list, a segment (size, last built, members, history),
the builder with its live count (HTMX), the members' CSV, and the API. Staff read; marketing and
admins build, edit, rebuild and archive."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from leadloop.auth.model import WRITERS, Principal
from leadloop.core.errors import Conflict, InvalidInput
from leadloop.segments import handlers
from leadloop.segments import queries as q
from leadloop.segments.builder import (
    DID,
    LEAD_FIELDS,
    WORDS,
    Builder,
    Draft,
    choices_for,
    draft_of,
    from_definition,
    ops_for,
)
from leadloop.segments.document import SegmentDocumentError, to_text
from leadloop.segments.model import FIELDS, Definition, describe
from leadloop.segments.parse import DefinitionError, parse_definition, where
from leadloop.segments.policy import policy_of
from leadloop.store.tables import Partner, Team, User
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, IdQuery, Page, Staff, require, viewer_scope
from leadloop.web.listing import csv_answer

router = APIRouter()
Builders = Annotated[Principal, require(WRITERS)]
MAX_FORM_FIELDS = 400


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_fields=MAX_FORM_FIELDS)
    return {k: v for k, v in form.multi_items() if isinstance(v, str)}


def _owners(ctx: AppContext) -> list[tuple[str, str]]:
    with ctx.db.read() as s:
        users = [
            (f"user:{i}", n)
            for i, n in s.execute(
                User.__table__.select().with_only_columns(User.id, User.name).where(User.active)
            )
        ]
        queues = [
            (f"queue:{i}", f"{n} (queue)")
            for i, n in s.execute(
                Team.__table__.select().with_only_columns(Team.id, Team.name).where(Team.is_queue)
            )
        ]
        partners = [
            (f"partner:{i}", f"{n} (partner)")
            for i, n in s.execute(Partner.__table__.select().with_only_columns(Partner.id, Partner.name))
        ]
    return users + queues + partners


def _editor(request: Request, ctx: AppContext, draft: Draft, *, status: int = 200, **more: Any) -> Response:
    groups: dict[str, list[tuple[str, str]]] = {}
    for spec in FIELDS.values():
        groups.setdefault(spec.group, []).append((spec.name, spec.label))
    groups["Leads of their account"] = [
        ("lead.stage", "Lead stage"),
        ("lead.owner", "Lead owner"),
        ("lead.product", "Lead product"),
    ]
    groups["Behaviour"] = [(DID, "Did (an activity)")]
    context = {
        "draft": draft,
        "field_groups": groups,
        "ops_for": ops_for,
        "choices_for": choices_for,
        "words": WORDS,
        "did": DID,
        "lead_fields": LEAD_FIELDS,
        "owners": _owners(ctx),
        "count": more.pop("count", None),
        **more,
    }
    return ctx.templates.TemplateResponse(
        request, more.get("template", "segment_edit.html"), context, status_code=status
    )


def _count(ctx: AppContext, draft: Draft) -> int | None:
    if draft.definition is None:
        return None
    with ctx.db.read() as s:
        return handlers.count(s, draft.definition, now=ctx.clock())


@router.get("/segments", response_class=HTMLResponse, include_in_schema=False)
def segments_page(
    request: Request, ctx: Ctx, who: Staff, archived: Annotated[bool, Query()] = False
) -> Response:
    with ctx.db.read() as s:
        rows = q.list_segments(s, archived=archived)
        policy = policy_of(s)
    return ctx.templates.TemplateResponse(
        request,
        "segments.html",
        {"rows": rows, "archived": archived, "may_build": who.may(WRITERS), "who": who, "policy": policy},
    )


@router.get("/segments/new", response_class=HTMLResponse, include_in_schema=False)
def new_segment_page(request: Request, ctx: Ctx, who: Builders) -> Response:
    draft = Draft("builder", Builder(), "", None)
    return _editor(request, ctx, draft, who=who, segment=None, name="", description="")


@router.post("/segments/builder", response_class=HTMLResponse, include_in_schema=False)
async def builder_fragment(
    request: Request,
    ctx: Ctx,
    who: Builders,
    add: Annotated[bool, Query()] = False,
    remove: Annotated[int | None, Query(ge=0, le=100)] = None,
) -> Response:
    """The rows again after a row was added or removed or a field changed. The page then asks for
    the count itself (the event in HX-Trigger-After-Settle), through the form's one request queue."""
    draft = draft_of(await _form(request), add=add, remove=remove, reshape=True)
    # A row just added or changed is not wrong yet: what is wrong is said by the count that follows.
    response = _editor(request, ctx, replace(draft, problems=()), template="_segment_builder.html")
    response.headers["HX-Trigger-After-Settle"] = "segment-rows-changed"
    return response


@router.post("/segments/count", response_class=HTMLResponse, include_in_schema=False)
async def count_fragment(request: Request, ctx: Ctx, who: Builders) -> Response:
    """How many people the definition on the page takes now, or what is wrong with it. Writes nothing."""
    draft = draft_of(await _form(request))
    return ctx.templates.TemplateResponse(
        request, "_segment_count.html", {"draft": draft, "count": _count(ctx, draft)}
    )


async def _save(request: Request, ctx: AppContext, who: Principal, segment_id: int | None) -> Response:
    values = await _form(request)
    action = values.get("action", "save")
    remove = int(action[7:]) if action.startswith("remove-") and action[7:].isdigit() else None
    to = {"to_document": "document", "to_builder": "builder"}.get(action)
    draft = draft_of(values, add=action == "add", remove=remove, to=to, reshape=action != "save")
    name, description = values.get("name", "")[:200], values.get("description", "")[:500]
    keep: dict[str, Any] = {"who": who, "segment": segment_id, "name": name, "description": description}
    if action != "save":  # the page without JavaScript: add, remove and switch come back here
        return _editor(request, ctx, draft, count=_count(ctx, draft), **keep)
    if draft.definition is None:
        return _editor(request, ctx, draft, status=422, **keep)
    try:
        with ctx.db.write() as s:
            if segment_id is None:
                saved = handlers.create_segment(
                    s,
                    name=name,
                    definition=draft.definition,
                    description=description,
                    now=ctx.clock(),
                    by_user_id=who.user_id,
                )
            else:
                saved = handlers.update_segment(
                    s,
                    segment_id,
                    name=name,
                    definition=draft.definition,
                    description=description,
                    now=ctx.clock(),
                    by_user_id=who.user_id,
                )
    except (InvalidInput, Conflict) as exc:  # a name taken or empty: the form comes back as typed
        return _editor(
            request, ctx, draft, status=exc.status_code, error=str(exc), count=_count(ctx, draft), **keep
        )
    return RedirectResponse(f"/segments/{saved.segment_id}?saved=1", status_code=303)


@router.post("/segments", include_in_schema=False)
async def create_page(request: Request, ctx: Ctx, who: Builders) -> Response:
    return await _save(request, ctx, who, None)


@router.get("/segments/{segment_id}", response_class=HTMLResponse, include_in_schema=False)
def segment_page(
    request: Request, ctx: Ctx, who: Staff, segment_id: Id, page: Page = 1, before: IdQuery = None
) -> Response:
    with ctx.db.read() as s:
        row = q.get_segment(s, segment_id)
        scope = viewer_scope(s, ctx, who)
        found, visible = q.members(s, segment_id, scope=scope, page=page)
        changes = q.history(s, segment_id, scope=scope, before=before)
        entered, left = q.flow(s, segment_id)
        policy = policy_of(s)
    return ctx.templates.TemplateResponse(
        request,
        "segment.html",
        {
            "row": row,
            "members": found,
            "visible": visible,
            "page": page,
            "pages": max(1, -(-visible // q.MEMBERS_PAGE)),
            "changes": changes,
            "entered": entered,
            "left": left,
            "every": policy.every(row.ticking),
            "may_build": who.may(WRITERS),
            "who": who,
        },
    )


@router.get("/segments/{segment_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_page(request: Request, ctx: Ctx, who: Builders, segment_id: Id) -> Response:
    with ctx.db.read() as s:
        row = q.get_segment(s, segment_id)
    rows = from_definition(row.definition)
    mode = "builder" if rows is not None else "document"
    draft = Draft(mode, rows or Builder(), to_text(row.definition), row.definition)
    return _editor(
        request,
        ctx,
        draft,
        who=who,
        segment=segment_id,
        name=row.name,
        description=row.description or "",
        count=row.size,
    )


@router.post("/segments/{segment_id}", include_in_schema=False)
async def update_page(request: Request, ctx: Ctx, who: Builders, segment_id: Id) -> Response:
    return await _save(request, ctx, who, segment_id)


@router.post("/segments/{segment_id}/rebuild", include_in_schema=False)
def rebuild_page(ctx: Ctx, who: Builders, segment_id: Id) -> Response:
    with ctx.db.write() as s:
        handlers.rebuild_segment(s, segment_id, now=ctx.clock())
    return RedirectResponse(f"/segments/{segment_id}?rebuilt=1", status_code=303)


@router.post("/segments/{segment_id}/archive", include_in_schema=False)
def archive_page(ctx: Ctx, who: Builders, segment_id: Id) -> Response:
    with ctx.db.write() as s:
        handlers.archive_segment(s, segment_id, now=ctx.clock(), by_user_id=who.user_id)
    return RedirectResponse("/segments?archived=1", status_code=303)


@router.get("/segments/{segment_id}/members.csv", include_in_schema=False)
def members_csv(request: Request, ctx: Ctx, who: Staff, segment_id: Id) -> Response:
    """The segment as a target list (every member one may see), audited like every export."""
    with ctx.db.read() as s:
        q.get_segment(s, segment_id)
        scope = viewer_scope(s, ctx, who)
    return csv_answer(
        ctx,
        who,
        request,
        f"segment-{segment_id}",
        q.EXPORT_HEADER,
        lambda s: q.export_members(s, segment_id, scope=scope),
    )


# The API.


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=500)
    definition: dict[str, Any] = Field(description="{schema: 1, match: {...}}: see /help segments")


def _definition(doc: dict[str, Any]) -> Definition:
    """The API's definition, or 422 listing every problem with where it is (`match.all[2].op`)."""
    try:
        return parse_definition(doc)
    except DefinitionError as exc:
        raise SegmentDocumentError(
            [(None, f"{where(p)}: {m}" if p else m) for p, m in exc.problems]
        ) from None


def _json(row: q.SegmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "size": row.size,
        "built_at": row.built_at,
        "build_ms": row.build_ms,
        "revision": row.revision,
        "archived_at": row.archived_at,
        "reads": row.reads,
        "time_dependent": row.ticking,
        "summary": row.sentence,
        "definition": row.definition.document(),
    }


@router.get("/api/v1/segments", tags=["segments"])
def list_api(ctx: Ctx, who: Staff, archived: bool = False) -> list[dict[str, Any]]:
    """Segments with their size and when they were last built."""
    with ctx.db.read() as s:
        return [_json(r) for r in q.list_segments(s, archived=archived)]


@router.get("/api/v1/segments/{segment_id}", tags=["segments"])
def get_api(ctx: Ctx, who: Staff, segment_id: Id) -> dict[str, Any]:
    with ctx.db.read() as s:
        return _json(q.get_segment(s, segment_id))


@router.post("/api/v1/segments", tags=["segments"], status_code=201)
def create_api(ctx: Ctx, who: Builders, body: SegmentIn) -> dict[str, Any]:
    """Save a segment and build it at once. A bad definition gets 422 with every problem and where."""
    definition = _definition(body.definition)
    with ctx.db.write() as s:
        saved = handlers.create_segment(
            s,
            name=body.name,
            definition=definition,
            description=body.description,
            now=ctx.clock(),
            by_user_id=who.user_id,
        )
    with ctx.db.read() as s:
        return _json(q.get_segment(s, saved.segment_id))


@router.put("/api/v1/segments/{segment_id}", tags=["segments"])
def update_api(ctx: Ctx, who: Builders, segment_id: Id, body: SegmentIn) -> dict[str, Any]:
    definition = _definition(body.definition)
    with ctx.db.write() as s:
        handlers.update_segment(
            s,
            segment_id,
            name=body.name,
            definition=definition,
            description=body.description,
            now=ctx.clock(),
            by_user_id=who.user_id,
        )
    with ctx.db.read() as s:
        return _json(q.get_segment(s, segment_id))


@router.post("/api/v1/segments/count", tags=["segments"])
def count_api(
    ctx: Ctx, who: Builders, definition: Annotated[dict[str, Any], Body(embed=True)]
) -> dict[str, Any]:
    """How many people a definition takes now, without saving it."""
    parsed = _definition(definition)
    with ctx.db.read() as s:
        return {"count": handlers.count(s, parsed, now=ctx.clock()), "summary": describe(parsed.match)}


@router.get("/api/v1/segments/{segment_id}/members", tags=["segments"])
def members_api(ctx: Ctx, who: Staff, segment_id: Id, page: Page = 1) -> dict[str, Any]:
    with ctx.db.read() as s:
        q.get_segment(s, segment_id)
        found, total = q.members(s, segment_id, scope=viewer_scope(s, ctx, who), page=page)
    return {
        "total": total,
        "page": page,
        "items": [
            {
                "person_id": m.person_id,
                "name": m.name,
                "email": m.email,
                "account_id": m.account_id,
                "entered_at": m.entered_at,
            }
            for m in found
        ],
    }
