"""The suspected-duplicates page (both queues), the people's decisions, merge and unmerge: pages and
their JSON twins. Thin: the decisions are in review.py and merge.py; what the account routes share
with these is in web_shared.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.access.repository import visible_ids
from leadloop.auth.model import WRITERS
from leadloop.core.bounds import MAX_ID
from leadloop.identity.account_review import open_account_pairs
from leadloop.identity.history import merge_history
from leadloop.identity.merge import merge_people, unmerge
from leadloop.identity.review import decide, open_pairs
from leadloop.identity.sides import PEOPLE
from leadloop.identity.web_shared import (
    PEOPLE_REVIEW,
    Decision,
    MergeRequest,
    decided,
    decision_json,
    merged_json,
    queue_json,
    unmerged_json,
)
from leadloop.store.tables import Account, Person
from leadloop.web.deps import Ctx, Id, IdQuery, Staff, Writer, viewer_scope

router = APIRouter()


@router.get("/people/duplicates", response_class=HTMLResponse, include_in_schema=False)
def duplicates_page(request: Request, ctx: Ctx, who: Staff) -> Any:
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
        pairs, total = open_pairs(session, within=visible_ids(scope, Person))
        account_pairs, account_total = open_account_pairs(session, within=visible_ids(scope, Account))
    return ctx.templates.TemplateResponse(
        request,
        "duplicates.html",
        {
            "pairs": pairs,
            "total": total,
            "account_pairs": account_pairs,
            "account_total": account_total,
            "may_decide": who.may(WRITERS),
        },
    )


@router.post("/people/duplicates/{pair_id}", response_class=HTMLResponse, include_in_schema=False)
def decide_page(
    request: Request,
    ctx: Ctx,
    who: Writer,
    pair_id: Id,
    action: Annotated[Literal["merge", "distinct"], Form()],
) -> Response:
    with ctx.db.write() as session:
        merge_id = decide(session, pair_id, action, now=ctx.clock(), by_user_id=who.user_id)
    return decided(request, ctx, PEOPLE_REVIEW, pair_id, merge_id)


@router.post("/people/{person_id}/merge", include_in_schema=False)
def merge_page(
    ctx: Ctx, who: Writer, person_id: Id, other_id: Annotated[int, Form(ge=1, le=MAX_ID)]
) -> Response:
    """Merge another person (by id) into this one."""
    with ctx.db.write() as session:
        merge_people(session, person_id, other_id, now=ctx.clock(), method="manual", by_user_id=who.user_id)
    return RedirectResponse(f"/people/{person_id}", status_code=303)


@router.post("/merges/{merge_id}/unmerge", include_in_schema=False)
def unmerge_page(ctx: Ctx, who: Writer, merge_id: Id) -> Response:
    with ctx.db.write() as session:
        done = unmerge(session, merge_id, now=ctx.clock(), by_user_id=who.user_id)
    return RedirectResponse(f"/people/{done.survivor_id}", status_code=303)


# JSON twins


@router.get("/api/v1/duplicates", tags=["identity"])
def duplicates_api(ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Open suspected duplicates, most likely first, both people side by side."""
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
        pairs, total = open_pairs(session, within=visible_ids(scope, Person))
    return queue_json(PEOPLE, pairs, total)


@router.post("/api/v1/duplicates/{pair_id}", tags=["identity"])
def decide_api(ctx: Ctx, who: Writer, pair_id: Id, body: Decision) -> dict[str, Any]:
    with ctx.db.write() as session:
        merge_id = decide(session, pair_id, body.action, now=ctx.clock(), by_user_id=who.user_id)
    return decision_json(pair_id, merge_id)


@router.post("/api/v1/people/{person_id}/merge", tags=["identity"])
def merge_api(ctx: Ctx, who: Writer, person_id: Id, body: MergeRequest) -> dict[str, Any]:
    """Merge this person into `into`. The merge can be undone exactly."""
    with ctx.db.write() as session:
        done = merge_people(
            session, body.into, person_id, now=ctx.clock(), method="manual", by_user_id=who.user_id
        )
    return merged_json(done)


@router.post("/api/v1/merges/{merge_id}/unmerge", tags=["identity"])
def unmerge_api(ctx: Ctx, who: Writer, merge_id: Id) -> dict[str, Any]:
    with ctx.db.write() as session:
        done = unmerge(session, merge_id, now=ctx.clock(), by_user_id=who.user_id)
    return unmerged_json(done)


@router.get("/api/v1/merges", tags=["identity"])
def merges_api(ctx: Ctx, who: Staff, person_id: IdQuery = None) -> list[dict[str, Any]]:
    """The identity audit trail: merges and unmerges, newest first."""
    with ctx.db.read() as session:
        return [m.as_dict() for m in merge_history(session, person_id)]
