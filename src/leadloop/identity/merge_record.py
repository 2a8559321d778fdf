"""What every merge keeps and checks, person or account (ADR 0009, 0010): the refusals, the locks
taken in id order, the merge record with its snapshot, the two rows put back on unmerge, and the
trail read back. merge.py and account_merge.py differ in what they move; this is what they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.identity.sides import Side
from leadloop.store.snapshot import from_json
from leadloop.store.tables import User


def lock(session: Session, side: Side, entity_id: int) -> Any:
    table = side.rows
    row = session.execute(sa.select(table).where(table.c.id == entity_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"there is no {side.noun} #{entity_id}")
    return row


def lock_pair(session: Session, side: Side, survivor_id: int, merged_id: int) -> tuple[Any, Any]:
    """Both records, locked, once the merge refusals have passed."""
    # Lock in id order, so two merges of the same pair cannot deadlock.
    rows = {i: lock(session, side, i) for i in sorted((survivor_id, merged_id))}
    survivor, merged = rows[survivor_id], rows[merged_id]
    refuse_merge(side, survivor, merged)
    return survivor, merged


def refuse_merge(side: Side, survivor: Any, merged: Any) -> None:
    """The errors every merge checks first."""
    what = side.noun
    if survivor.id == merged.id:
        raise InvalidInput(f"{what} #{merged.id} cannot be merged into {side.reflexive}")
    if merged.merged_into_id is not None:
        raise Conflict(f"{what} #{merged.id} was already merged into #{merged.merged_into_id}")
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"{what} #{survivor.id} was merged into #{survivor.merged_into_id}; merge into #{survivor.merged_into_id}"
        )


def merged_into(conn: sa.Connection, side: Side, entity_id: int) -> list[int]:
    """Records merged earlier into this one: a merge repoints them to its survivor, so that one hop
    from any merged-away record finds the live one."""
    table = side.rows
    return list(conn.execute(sa.select(table.c.id).where(table.c.merged_into_id == entity_id)).scalars())


def repoint(conn: sa.Connection, side: Side, ids: list[int], into: int) -> None:
    if ids:
        table = side.rows
        conn.execute(sa.update(table).where(table.c.id.in_(ids)).values(merged_into_id=into))


def record(
    conn: sa.Connection,
    side: Side,
    survivor_id: int,
    merged_id: int,
    *,
    now: datetime,
    method: str,
    by_user_id: int | None,
    score: float | None,
    reasons: list[str] | None,
    snapshot: dict[str, Any],
) -> int:
    """Write the merge record, the undo log and the audit line at once; returns its id."""
    table = side.merges
    return int(
        conn.execute(
            sa.insert(table)
            .returning(table.id)
            .values(
                survivor_id=survivor_id,
                merged_id=merged_id,
                at=now,
                by_user_id=by_user_id,
                method=method,
                reasons=list(reasons or []),
                snapshot=snapshot,
                **{side.score: score},
            )
        ).scalar_one()
    )


def lock_merge(session: Session, side: Side, merge_id: int) -> tuple[Any, Any]:
    """The merge record and its survivor's row, locked, once the unmerge refusals have passed."""
    table = side.merges
    m: Any = session.execute(
        sa.select(table).where(table.id == merge_id).with_for_update()
    ).scalar_one_or_none()
    if m is None:
        raise NotFound(f"there is no {side.record} #{merge_id}")
    survivor = lock(session, side, m.survivor_id)
    refuse_unmerge(session, side, m, survivor)
    return m, survivor


def refuse_unmerge(session: Session, side: Side, m: Any, survivor: Any) -> None:
    """The errors every unmerge checks first: undone already, or built upon since."""
    what, table = side.noun, side.merges
    if not m.snapshot or m.snapshot.get("erased"):
        raise Conflict(
            f"{side.record} #{m.id} cannot be undone: a person in it was erased at their request, and "
            "what it would restore is gone"
        )
    if m.unmerged_at is not None:
        raise Conflict(f"{side.record} #{m.id} was already undone on {m.unmerged_at:%Y-%m-%d %H:%M}")
    if survivor.merged_into_id is not None:
        raise Conflict(
            f"{what} #{m.survivor_id} was merged into #{survivor.merged_into_id} since; undo that merge first"
        )
    later = session.scalars(
        sa.select(table.id).where(
            table.survivor_id == m.survivor_id, table.id > m.id, table.unmerged_at.is_(None)
        )
    ).all()
    if later:
        raise Conflict(
            f"{what} #{m.survivor_id} took part in later merges ({', '.join(f'#{i}' for i in later)}); undo those first"
        )


def put_back(conn: sa.Connection, side: Side, m: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both records exactly as the merge found them; returns the survivor's and the merged row."""
    table, snap = side.rows, m.snapshot
    survivor_row, merged_row = from_json(table, snap["survivor"]), from_json(table, snap["merged"])
    for column in side.kept:  # another capability's fact, which it restores itself
        survivor_row.pop(column, None)
        merged_row.pop(column, None)
    conn.execute(sa.update(table).where(table.c.id == m.survivor_id).values(**survivor_row))
    conn.execute(sa.update(table).where(table.c.id == m.merged_id).values(**merged_row))
    return survivor_row, merged_row


@dataclass(frozen=True)
class MergeEntry:
    """One line of a merge trail. `facts` are what only one side records: a person merge the
    matcher's probability, an account merge its similarity and what happened to the leads."""

    id: int
    survivor_id: int
    merged_id: int
    at: datetime
    method: str
    by: str | None
    facts: dict[str, Any]
    reasons: list[str]
    unmerged_at: datetime | None
    unmerged_by: str | None

    def as_dict(self) -> dict[str, Any]:
        """For the API: the facts stand beside the rest, datetimes as ISO text."""
        flat = {k: v for k, v in self.__dict__.items() if k != "facts"} | self.facts
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in flat.items()}


def merge_trail(
    session: Session,
    side: Side,
    entity_id: int | None,
    *,
    facts: Callable[[Any], dict[str, Any]],
    limit: int,
) -> list[MergeEntry]:
    """Merges (and their undoing), newest first; one record's or all."""
    table = side.merges
    stmt = sa.select(table).order_by(table.id.desc()).limit(limit)
    if entity_id is not None:
        stmt = stmt.where(sa.or_(table.survivor_id == entity_id, table.merged_id == entity_id))
    rows: Sequence[Any] = session.scalars(stmt).all()
    wanted = ({r.by_user_id for r in rows} | {r.unmerged_by_user_id for r in rows}) - {None}
    users = {u.id: u.email for u in session.scalars(sa.select(User).where(User.id.in_(wanted or {-1})))}
    return [
        MergeEntry(
            r.id,
            r.survivor_id,
            r.merged_id,
            r.at,
            r.method,
            users.get(r.by_user_id) if r.by_user_id else None,
            facts(r),
            list(r.reasons),
            r.unmerged_at,
            users.get(r.unmerged_by_user_id) if r.unmerged_by_user_id else None,
        )
        for r in rows
    ]
