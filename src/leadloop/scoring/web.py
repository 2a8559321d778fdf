"""The scoring admin: models as versioned documents (edited as YAML in the browser, previewed, and
activated, through the documents machine), with the predictive model's report on the same page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from leadloop.documents.web import Pages, document_router
from leadloop.scoring.kind import SCORING
from leadloop.scoring.predictive import MARGIN_SHOWN, active_report


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
