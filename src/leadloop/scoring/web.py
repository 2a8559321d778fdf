"""The scoring admin: models as versioned documents (edited as YAML in the browser, previewed, and
activated, through the documents machine), with the predictive model's report on the same page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from leadloop.auth.model import Principal
from leadloop.documents.web import Pages, document_router
from leadloop.scoring.kind import SCORING
from leadloop.scoring.predictive import MARGIN_SHOWN, active_report
from leadloop.scoring.suggest import Suggestion, suggest
from leadloop.scoring.target import Target
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, require


def _predictive(session: Session) -> dict[str, Any]:
    found = active_report(session)
    windows = [
        (datetime.fromtimestamp(w[0], UTC).date(), int(w[1]), int(w[2]), *w[3:])
        for w in (found[2].rolling if found else [])
    ]
    return {"predictive": found, "margin": MARGIN_SHOWN, "windows": windows}


PAGES = Pages(
    kind=SCORING,
    items="models",
    heading="Scoring models",
    intro="The model as YAML: fit rules, activity weights per product, caps, half-life and thresholds. "
    "Preview shows what it would change; saving keeps it as a draft until you activate it.",
    empty="None saved yet: the shipped default model scores every lead.",
    preview_button="Preview changes",
    activate_button="Activate and recompute every score",
    activated="Every score was recomputed with this model.",
    summary_template="_scoring_summary.html",
    page_template="scoring.html",
    extra=_predictive,
)
router = document_router(PAGES)

drafter = require(SCORING.drafting)


def _suggest(ctx: AppContext, who: Principal) -> Suggestion:
    """Learn from the history, save what beats the model in force as a draft, and post the evidence
    as the draft's first comment, by whoever asked."""
    from leadloop.documents import handlers as documents

    conf = ctx.settings
    with ctx.db.write() as session:
        found = suggest(
            session, now=ctx.clock(), target=Target(conf.predict_target, conf.predict_days), save=True
        )
        if found.draft_id is not None:
            evidence = "\n".join(found.lines())[: documents.MAX_COMMENT]
            documents.comment(
                session, SCORING, found.draft_id, evidence, user_id=who.user_id, now=ctx.clock()
            )
    return found


@router.post("/scoring/suggest", response_class=HTMLResponse, include_in_schema=False)
def suggest_fragment(request: Request, ctx: Ctx, who: Principal = drafter) -> Response:
    """What the history suggests, as a fragment under the button; a link to the draft it saved."""
    found = _suggest(ctx, who)
    return ctx.templates.TemplateResponse(
        request, "_scoring_suggestion.html", {"found": found, "pages": PAGES}
    )


@router.post(
    "/api/v1/scoring/suggestions",
    tags=["scoring"],
    status_code=201,
    summary="Suggest a model from the history",
)
def suggest_api(ctx: Ctx, who: Principal = drafter) -> dict[str, Any]:
    """Learns fit rules from won and lost deals and the half-life that ranks past questions best;
    what beats the model in force on held-out history is saved as a draft (`draft_id`, else null),
    with the evidence in `lines` and as the draft's first comment."""
    found = _suggest(ctx, who)
    return {"draft_id": found.draft_id, "lines": found.lines()}
