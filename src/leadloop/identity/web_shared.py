"""What the people's and the accounts' identity routes (web.py, account_web.py) share: the request
bodies, the answer to a decision on the review page, and the JSON shapes of a queue and of a merge.
The routes themselves stay one per URL on each side, so each side's URLs read in one file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from leadloop.core.bounds import MAX_ID
from leadloop.identity.account_merge import AccountMerged
from leadloop.identity.merge import Merged
from leadloop.identity.queue import QueuedPair
from leadloop.identity.sides import ACCOUNTS, PEOPLE, Side
from leadloop.web.context import AppContext


class Decision(BaseModel):
    action: Literal["merge", "distinct"]


class MergeRequest(BaseModel):
    into: int = Field(ge=1, le=MAX_ID, description="the person or account that survives")


@dataclass(frozen=True)
class Review:
    """Where a side's queue is shown: both sit on one page, the accounts' under its own heading."""

    side: Side
    url: str
    element: str  # the id prefix of a pair's <article> on that page (duplicates.html)


PEOPLE_REVIEW = Review(PEOPLE, "/people/duplicates", "pair")
ACCOUNTS_REVIEW = Review(ACCOUNTS, "/people/duplicates#accounts", "account-pair")


def decided(
    request: Request, ctx: AppContext, review: Review, pair_id: int, merge_id: int | None
) -> Response:
    """The answer to a decision on the review page: in place of the pair, what happened (HTMX);
    without HTMX, the page again."""
    if "hx-request" not in request.headers:
        return RedirectResponse(review.url, status_code=303)
    side = review.side
    message = (
        f"Merged ({side.record} #{merge_id}, undo from the {side.noun}'s page)"
        if merge_id
        else f"Kept apart: not the same {side.noun}"
    )
    return ctx.templates.TemplateResponse(
        request,
        "_duplicate_done.html",
        {"element": f"{review.element}-{pair_id}", "pair_id": pair_id, "message": message},
    )


def queue_json(side: Side, pairs: Sequence[QueuedPair], total: int) -> dict[str, Any]:
    """A queue for the API: each pair's score under the side's own name, both records as the page
    shows them (`people` or `accounts`)."""

    def plain(record: dict[str, Any]) -> dict[str, Any]:
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}

    def one(p: QueuedPair) -> dict[str, Any]:
        return {
            "id": p.id,
            side.score: p.score,
            "reasons": p.reasons,
            "found_at": p.found_at.isoformat(),
            side.plural: [plain(p.left), plain(p.right)],
        }

    return {"total": total, "pairs": [one(p) for p in pairs]}


def decision_json(pair_id: int, merge_id: int | None) -> dict[str, Any]:
    return {"id": pair_id, "status": "merged" if merge_id else "distinct", "merge_id": merge_id}


def merged_json(done: Merged | AccountMerged) -> dict[str, Any]:
    return {
        "merge_id": done.merge_id,
        "survivor_id": done.survivor_id,
        "merged_id": done.merged_id,
        "changed": done.changed,
    }


def unmerged_json(done: Merged | AccountMerged) -> dict[str, Any]:
    return {"merge_id": done.merge_id, "survivor_id": done.survivor_id, "restored_id": done.merged_id}
