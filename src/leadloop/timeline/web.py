"""Person and account pages with their timelines; people search; JSON twins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from leadloop.auth.model import WRITERS
from leadloop.enrich.repository import provenance
from leadloop.identity.history import account_merge_history, merge_history
from leadloop.lists.queries import PeopleFilter, list_people
from leadloop.scoring.explain import person_score
from leadloop.timeline.queries import account_view, person_view
from leadloop.web.deps import Ctx, Id, IdQuery, Staff, viewer_scope
from leadloop.web.listing import filter_from, list_context

router = APIRouter()


@router.get("/people", response_class=HTMLResponse, include_in_schema=False)
def people_page(request: Request, ctx: Ctx, who: Staff, q: Annotated[str, Query(max_length=200)] = "") -> Any:
    """Everyone one may see, newest first, before any search (lists/queries.py)."""
    f = filter_from(PeopleFilter, request).clean()
    with ctx.db.read() as session:
        listing = list_people(session, f, scope=viewer_scope(session, ctx, who))
        tools = list_context(request, session, who, "people", noun="person", plural="people")
    return ctx.templates.TemplateResponse(
        request,
        "people.html",
        {"q": q, "f": f, "listing": listing, "paging": listing.paging, "who": who, **tools},
    )


@router.get("/people/{person_id}", response_class=HTMLResponse, include_in_schema=False)
def person_page(request: Request, person_id: Id, ctx: Ctx, who: Staff, before: IdQuery = None) -> Any:
    with ctx.db.read() as session:
        view = person_view(session, person_id, before=before, scope=viewer_scope(session, ctx, who))
        score = person_score(session, person_id, now=ctx.clock())
        merges = merge_history(session, person_id)
    return ctx.templates.TemplateResponse(
        request,
        "person.html",
        {"view": view, "score": score, "who": who, "merges": merges, "may_merge": who.may(WRITERS)},
    )


@router.get("/accounts/{account_id}", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, account_id: Id, ctx: Ctx, who: Staff, before: IdQuery = None) -> Any:
    with ctx.db.read() as session:
        view = account_view(session, account_id, before=before, scope=viewer_scope(session, ctx, who))
        sources = provenance(session, "account", account_id)
        merges = account_merge_history(session, account_id)
    return ctx.templates.TemplateResponse(
        request,
        "account.html",
        {"view": view, "who": who, "sources": sources, "merges": merges, "may_merge": who.may(WRITERS)},
    )


def _row(obj: Any, columns: list[str]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in columns}


_PERSON_COLS = [
    "id",
    "external_id",
    "account_id",
    "email",
    "email_kind",
    "first_name",
    "last_name",
    "title",
    "seniority",
    "department",
    "phone",
    "company",
    "website",
    "street",
    "country",
    "state",
    "city",
    "postcode",
    "lead_source",
    "email_opt_in",
    "attributes",
    "created_at",
    "updated_at",
    "merged_into_id",
    "account_match",
]


@router.get("/api/v1/people/{person_id}", tags=["warehouse"])
def person_api(person_id: Id, ctx: Ctx, who: Staff) -> dict[str, Any]:
    with ctx.db.read() as session:
        view = person_view(session, person_id, scope=viewer_scope(session, ctx, who))
        score = person_score(session, person_id, now=ctx.clock())
    return {
        "score": score.as_dict(),
        # The people's model: this person's own probability that their account wins a deal in the
        # window (None when that model did not beat the baselines), and the features that move it.
        "predicted": view.person.predicted,
        "predicted_why": [{"feature": f, "change": d} for f, d in view.person.predicted_why or []],
        "person": _row(view.person, _PERSON_COLS),
        "account": _row(view.account, ["id", "name", "domain", "external_id"]) if view.account else None,
        "activity_total": view.activity_total,
        "timeline": [
            {
                k: getattr(t, k)
                for k in ("id", "type", "occurred_at", "channel", "campaign", "product", "url", "source")
            }
            for t in view.timeline
        ],
    }
