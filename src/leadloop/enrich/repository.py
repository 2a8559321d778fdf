"""Where each enriched value came from, as the pages show it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.store.tables import Provenance


def provenance(session: Session, entity: str, entity_id: int) -> dict[str, Provenance]:
    return {
        p.field: p
        for p in session.scalars(
            sa.select(Provenance).where(Provenance.entity == entity, Provenance.entity_id == entity_id)
        )
    }
