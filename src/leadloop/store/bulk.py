"""Dialect-aware bulk statements shared by every capability."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# SQLite allows 32,766 bound parameters; PostgreSQL 65,535. Keep IN lists well below both.
IN_CHUNK = 900


def _insert(session: Session, table: Any) -> Any:
    return (
        postgresql.insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(table)
    )


def insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], conflict: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING."""
    if rows:
        session.execute(_insert(session, table).on_conflict_do_nothing(index_elements=list(conflict)), rows)


def insert_new(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: exactly the rows this statement created,
    even when a concurrent transaction inserted the same keys."""
    if not rows:
        return []
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict))
    return list(session.execute(stmt.returning(*(table.c[c] for c in returning)), rows).all())


def chunks(values: Iterable[Any], size: int = IN_CHUNK) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for v in values:
        batch.append(v)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def select_in(session: Session, columns: Sequence[Any], key: Any, values: Iterable[Any]) -> list[Any]:
    """SELECT columns WHERE key IN (values), chunked under the parameter limits."""
    out: list[Any] = []
    for part in chunks(sorted(set(v for v in values if v is not None))):
        out.extend(session.execute(sa.select(*columns).where(key.in_(part))).all())
    return out
