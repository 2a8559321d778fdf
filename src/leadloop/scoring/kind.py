"""Scoring models as a kind of versioned document: what the documents machine needs from scoring."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.auth.model import WRITERS, Role
from leadloop.documents.model import Activation, DocumentKind
from leadloop.scoring import models
from leadloop.scoring.document import ScoringModel, parse_model
from leadloop.scoring.repository import active_model
from leadloop.store.tables import ScoringModelRow


def _preview(session: Session, model: ScoringModel, *, now: datetime, limit: int | None) -> models.Preview:
    # The whole warehouse (there is no replay to limit), reading only what the model weighs.
    return models.preview(session, model, now=now, what_if=True)


def _activate(session: Session, model: ScoringModel, *, now: datetime) -> Activation:
    # Leads the new model opens start in marketing's nurture queue (the lifecycle opens them); the
    # MQLs it makes are routed by the reaction, in this transaction.
    return Activation(*models.activate(session, model, now=now))


SCORING = DocumentKind[ScoringModel](
    slug="scoring",
    noun="model",
    table=ScoringModelRow,
    parse=parse_model,
    active=active_model,
    preview=_preview,
    activate=_activate,
    editors=WRITERS,  # marketing and admins activate
    drafters=frozenset({Role.MANAGER}),  # "involve sales managers in scoring" (seed 004): drafts and comments
)
