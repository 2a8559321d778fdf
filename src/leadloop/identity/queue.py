"""The review queue, either side's: pairs that may be one wait here for a person to say "merge" or
"not the same" (remembered: the pair is never asked again). A merge settles every open pair it
touches, and its undoing reopens them. Which record survives a "merge" is the side's own rule
(review.py, account_review.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, NotFound
from leadloop.identity.sides import Side
from leadloop.store.bulk import insert_ignore


def enqueue(
    session: Session, side: Side, pairs: Iterable[tuple[int, int, float, Sequence[str]]], *, now: datetime
) -> int:
    """Queue (id, id, score, reasons) pairs for review; a pair already queued or judged is left as
    it is."""
    rows = [
        {
            side.key: min(a, b),
            "other_id": max(a, b),
            side.score: score,
            "reasons": list(reasons),
            "status": "open",
            "found_at": now,
        }
        for a, b, score, reasons in pairs
    ]
    insert_ignore(session, side.suspects.__table__, rows, [side.key, "other_id"])
    return len(rows)


def open_decision(
    session: Session, side: Side, suspect_id: int, action: str, *, now: datetime, by_user_id: int | None
) -> Any:
    """The queued pair a decision is about, locked; a "distinct" decision is recorded here (None
    returned), a "merge" is left to the caller. Unknown, decided and unknown-action errors."""
    table = side.suspects
    row: Any = session.execute(
        sa.select(table).where(table.id == suspect_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"there is no {side.suspect} #{suspect_id}")
    if row.status != "open":
        raise Conflict(f"{side.suspect} #{suspect_id} was already decided ({row.status})")
    if action == "distinct":
        row.status, row.decided_at, row.decided_by_user_id = "distinct", now, by_user_id
        return None
    if action != "merge":
        raise Conflict(f"unknown decision {action!r}; use merge or distinct")
    return row


@dataclass(frozen=True)
class QueuedPair:
    """A waiting pair with both records as the page shows them; `score` is the side's measure."""

    id: int
    score: float
    reasons: list[str]
    found_at: datetime
    left: dict[str, Any]
    right: dict[str, Any]


P = TypeVar("P", bound=QueuedPair)
# The records of these ids as the queue shows them, by id.
View = Callable[[Session, set[int]], dict[int, dict[str, Any]]]


def open_pairs_of(
    session: Session, side: Side, make: type[P], view: View, *, limit: int, within: Any = None
) -> tuple[list[P], int]:
    """The queue, most alike first, both records side by side; and how many wait in all. `within`
    (a SELECT of ids) keeps the pairs whose two records the viewer may see."""
    table = side.suspects
    score = getattr(table, side.score)
    where = [table.status == "open"]
    if within is not None:
        where += [getattr(table, side.key).in_(within), table.other_id.in_(within)]
    total = session.scalar(sa.select(sa.func.count()).where(*where)) or 0
    rows: Sequence[Any] = session.scalars(
        sa.select(table).where(*where).order_by(score.desc(), table.id).limit(limit)
    ).all()
    shown = view(session, {getattr(r, side.key) for r in rows} | {r.other_id for r in rows})
    return [
        make(
            r.id,
            getattr(r, side.score),
            list(r.reasons),
            r.found_at,
            shown[getattr(r, side.key)],
            shown[r.other_id],
        )
        for r in rows
    ], int(total)


def open_suspects(conn: sa.Connection, side: Side, ids: tuple[int, int]) -> list[list[Any]]:
    """[id, status] of every open pair either record is in: what a merge settles, for its snapshot."""
    table = side.suspects
    return [
        list(r)
        for r in conn.execute(
            sa.select(table.id, table.status).where(
                sa.or_(side.lower.in_(ids), table.other_id.in_(ids)), table.status == "open"
            )
        )
    ]


def settle(
    conn: sa.Connection,
    side: Side,
    suspects: list[list[Any]],
    ids: tuple[int, int],
    *,
    now: datetime,
    by_user_id: int | None,
) -> None:
    """A merge of `ids` closes its own pair as merged and any other open pair of either as gone
    (one of its two records no longer stands on its own)."""
    if not suspects:
        return
    table = side.suspects
    conn.execute(
        sa.update(table)
        .where(table.id.in_([s[0] for s in suspects]))
        .values(
            status=sa.case(
                (sa.and_(side.lower == min(ids), table.other_id == max(ids)), "merged"), else_="gone"
            ),
            decided_at=now,
            decided_by_user_id=by_user_id,
        )
    )


def reopen(conn: sa.Connection, side: Side, suspects: list[list[Any]]) -> None:
    """Undo `settle`: each pair back to the status the snapshot kept, undecided."""
    table = side.suspects
    for sid, status in suspects:
        conn.execute(
            sa.update(table)
            .where(table.id == sid)
            .values(status=status, decided_at=None, decided_by_user_id=None)
        )
