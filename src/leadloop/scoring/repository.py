"""Which scoring model is in force: the activated one, or the shipped default when none ever was."""

from __future__ import annotations

import functools
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.scoring.document import ScoringModel, parse_model
from leadloop.store.bulk import connection


@functools.cache
def default_model() -> ScoringModel:
    return parse_model(resources.files("leadloop.scoring").joinpath("default_model.yaml").read_text())


_ACTIVE = sa.text(
    "SELECT id, document FROM scoring_models WHERE status = 'active' ORDER BY activated_at DESC LIMIT 1"
)


@functools.lru_cache(maxsize=32)
def _parse_cached(document: str) -> ScoringModel:
    # Keyed by the text itself: a row id means nothing across databases or after a restore.
    return parse_model(document)


_ACTIVE_ID = sa.text(
    "SELECT id FROM scoring_models WHERE status = 'active' ORDER BY activated_at DESC LIMIT 1"
)
_DOCUMENT = sa.text("SELECT document FROM scoring_models WHERE id = :id")


def active_model_id(session: Session) -> int | None:
    """The activated model's row id (None: the shipped default is in force). A row's document never
    changes once saved (a change is a new version), so the id names the rules exactly: a caller may
    keep what it derived from a model by this id without reading the document again."""
    found = connection(session).execute(_ACTIVE_ID).scalar()
    return None if found is None else int(found)


def model_by_id(session: Session, model_id: int | None) -> ScoringModel:
    """The model `active_model_id` named (None: the shipped default)."""
    if model_id is None:
        return default_model()
    return _parse_cached(connection(session).execute(_DOCUMENT, {"id": model_id}).scalar_one())


def active_model(session: Session) -> tuple[ScoringModel, int | None]:
    """The activated model, or the shipped default when none was ever activated."""
    row = connection(session).execute(_ACTIVE).first()
    if row is None:
        return default_model(), None
    return _parse_cached(row.document), row.id
