"""Account merges: the account review queue's decisions, merge and unmerge; pages and their JSON
twins. Thin: the decisions are in account_review.py and account_merge.py; what these routes share
with the people's is in web_shared.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadloop.access.repository import visible_ids
from leadloop.core.bounds import MAX_ID
from leadloop.identity.account_merge import merge_accounts, unmerge_accounts
from leadloop.identity.account_review import decide_accounts, open_account_pairs
from leadloop.identity.history import account_merge_history
from leadloop.identity.sides import ACCOUNTS
from leadloop.identity.web_shared import (
    ACCOUNTS_REVIEW,
    Decision,
    MergeRequest,
    decided,
    decision_json,
    merged_json,
    queue_json,
    unmerged_json,
)
from leadloop.store.tables import Account
from leadloop.web.deps import Ctx, Id, IdQuery, Staff, Writer, viewer_scope

router = APIRouter()


@router.post("/accounts/duplicates/{pair_id}", response_class=HTMLResponse, include_in_schema=False)
def decide_page(
    request: Request,
    ctx: Ctx,
    who: Writer,
    pair_id: Id,
    action: Annotated[Literal["merge", "distinct"], Form()],
) -> Response:
    with ctx.db.write() as session:
        merge_id = decide_accounts(session, pair_id, action, now=ctx.clock(), by_user_id=who.user_id)
    return decided(request, ctx, ACCOUNTS_REVIEW, pair_id, merge_id)


@router.post("/accounts/{account_id}/merge", include_in_schema=False)
def merge_page(
    ctx: Ctx, who: Writer, account_id: Id, other_id: Annotated[int, Form(ge=1, le=MAX_ID)]
) -> Response:
    """Merge another account (by id) into this one."""
    with ctx.db.write() as session:
        merge_accounts(session, account_id, other_id, now=ctx.clock(), by_user_id=who.user_id)
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)


@router.post("/account-merges/{merge_id}/unmerge", include_in_schema=False)
def unmerge_page(ctx: Ctx, who: Writer, merge_id: Id) -> Response:
    with ctx.db.write() as session:
        done = unmerge_accounts(session, merge_id, now=ctx.clock(), by_user_id=who.user_id)
    return RedirectResponse(f"/accounts/{done.survivor_id}", status_code=303)


# JSON twins


@router.get("/api/v1/account-duplicates", tags=["identity"])
def duplicates_api(ctx: Ctx, who: Staff) -> dict[str, Any]:
    """Open suspected account duplicates, most alike first, both accounts side by side."""
    with ctx.db.read() as session:
        scope = viewer_scope(session, ctx, who)
        pairs, total = open_account_pairs(session, within=visible_ids(scope, Account))
    return queue_json(ACCOUNTS, pairs, total)


@router.post("/api/v1/account-duplicates/{pair_id}", tags=["identity"])
def decide_api(ctx: Ctx, who: Writer, pair_id: Id, body: Decision) -> dict[str, Any]:
    with ctx.db.write() as session:
        merge_id = decide_accounts(session, pair_id, body.action, now=ctx.clock(), by_user_id=who.user_id)
    return decision_json(pair_id, merge_id)


@router.post("/api/v1/accounts/{account_id}/merge", tags=["identity"])
def merge_api(ctx: Ctx, who: Writer, account_id: Id, body: MergeRequest) -> dict[str, Any]:
    """Merge this account into `into`: contacts, timeline, opportunities and leads move; undoable."""
    with ctx.db.write() as session:
        done = merge_accounts(session, body.into, account_id, now=ctx.clock(), by_user_id=who.user_id)
    return {**merged_json(done), "leads": done.leads}  # product -> what happened to its leads


@router.post("/api/v1/account-merges/{merge_id}/unmerge", tags=["identity"])
def unmerge_api(ctx: Ctx, who: Writer, merge_id: Id) -> dict[str, Any]:
    with ctx.db.write() as session:
        done = unmerge_accounts(session, merge_id, now=ctx.clock(), by_user_id=who.user_id)
    return unmerged_json(done)


@router.get("/api/v1/account-merges", tags=["identity"])
def merges_api(ctx: Ctx, who: Staff, account_id: IdQuery = None) -> list[dict[str, Any]]:
    """Account merges and unmerges, newest first."""
    with ctx.db.read() as session:
        return [m.as_dict() for m in account_merge_history(session, account_id)]
