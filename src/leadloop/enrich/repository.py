"""Where each enriched value came from, as the pages show it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.store.bulk import IN_CHUNK, chunks
from leadloop.store.tables import Person, Provenance


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
    for part in chunks(ids):  # a capture batch may hold more ids than a statement may bind
        for entity_id, field in session.execute(
            sa.select(Provenance.entity_id, Provenance.field).where(
                Provenance.entity == entity, Provenance.entity_id.in_(part), Provenance.method == "manual"
            )
        ):
            found.setdefault(entity_id, set()).add(field)
    return {k: frozenset(v) for k, v in found.items()}


def manual_values(session: Session, ids: set[int]) -> dict[int, dict[str, list[Any]]]:
    """Person id -> {field: the values set by hand}, counting a value set on someone merged into
    them (a merge hands the survivor that value, ADR 0021). The caller honours a value only while
    the person still holds it: after an unmerge the survivor's own value is back, and no pin."""
    if not ids:
        return {}
    found: dict[int, dict[str, list[Any]]] = {}
    for part in chunks(ids, size=IN_CHUNK // 3):  # the chunk is bound three times below
        owner = sa.case((Person.merged_into_id.in_(part), Person.merged_into_id), else_=Person.id)
        for person_id, field, value in session.execute(
            sa.select(owner, Provenance.field, Provenance.value)
            .join(Person, Person.id == Provenance.entity_id)
            .where(
                Provenance.entity == "person",
                Provenance.method == "manual",
                sa.or_(Person.id.in_(part), Person.merged_into_id.in_(part)),
            )
        ):
            found.setdefault(person_id, {}).setdefault(field, []).append(value)
    return found
