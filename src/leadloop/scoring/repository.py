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


def active_model(session: Session) -> tuple[ScoringModel, int | None]:
    """The activated model, or the shipped default when none was ever activated."""
    row = connection(session).execute(_ACTIVE).first()
    if row is None:
        return default_model(), None
    return _parse_cached(row.document), row.id
