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


# Edit and reassign (issue 13, item 4): values a person typed are pinned (ADR 0021).
def manual_fields(session: Session, entity: str, ids: set[int]) -> dict[int, frozenset[str]]:
    """entity id -> the fields whose value a person set by hand (provenance method "manual"): an
    import, a form, an enrichment or a merge leaves those alone."""
    if not ids:
        return {}
    found: dict[int, set[str]] = {}
    for entity_id, field in session.execute(
        sa.select(Provenance.entity_id, Provenance.field).where(
            Provenance.entity == entity, Provenance.entity_id.in_(ids), Provenance.method == "manual"
        )
    ):
        found.setdefault(entity_id, set()).add(field)
    return {k: frozenset(v) for k, v in found.items()}
