"""Loading segments: their parsed definitions (cached by text), and the decay rate in force."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import NotFound
from leadloop.scoring.decay import decay_rate
from leadloop.scoring.repository import active_model
from leadloop.segments.model import Definition
from leadloop.segments.parse import parse_definition
from leadloop.store.bulk import connection
from leadloop.store.tables import Segment

S: sa.Table = Segment.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Loaded:
    id: int
    name: str
    revision: int
    definition: Definition
    archived_at: datetime | None = None


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Definition:
    return parse_definition(json.loads(text))


def definition_of(document: dict[str, Any]) -> Definition:
    """A stored document, parsed once per distinct text (every capture asks for every segment)."""
    return _parsed(json.dumps(document, sort_keys=True))


_COLUMNS = (S.c.id, S.c.name, S.c.revision, S.c.definition, S.c.archived_at)


def live_segments(session: Session) -> list[Loaded]:
    rows = connection(session).execute(sa.select(*_COLUMNS).where(S.c.archived_at.is_(None)).order_by(S.c.id))
    return [Loaded(r.id, r.name, r.revision, definition_of(r.definition), r.archived_at) for r in rows]


def load(session: Session, segment_id: int) -> Loaded:
    row = connection(session).execute(sa.select(*_COLUMNS).where(S.c.id == segment_id)).first()
    if row is None:
        raise NotFound(f"there is no segment #{segment_id}; pick one from the segments list")
    return Loaded(row.id, row.name, row.revision, definition_of(row.definition), row.archived_at)


def rate_now(session: Session) -> float:
    """λ of the scoring model in force: the one the stored engagement keys were computed with."""
    model, _ = active_model(session)
    return decay_rate(model.engagement.half_life_days)
