"""Who is in a segment, kept in `segment_members`, every entry and exit appended to
`segment_changes`. Two ways in, one meaning (compile.py):

- `rebuild`: one segment over everyone, set-based: the query's ids go into a temporary table, and
  the entries, exits and the members table follow from two anti-joins, all inside the database
  (no person passes through Python; 1M people in about a second on SQLite, bench/nurture.py);
- `refresh_people`: the few people an event touched, over every live segment, in one query per
  segment, then the difference written row by row.

Both return the events SegmentEntered/SegmentLeft (a range of change rows each) for the caller to
publish (a handler) or return (a reaction).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event, SegmentEntered, SegmentLeft
from leadloop.segments.compile import P, Query, compiled
from leadloop.segments.model import Definition
from leadloop.segments.repository import Loaded, live_segments, rate_now
from leadloop.store.bulk import chunks, connection
from leadloop.store.tables import Segment, SegmentChange, SegmentMember

S: sa.Table = Segment.__table__  # type: ignore[assignment]
M: sa.Table = SegmentMember.__table__  # type: ignore[assignment]
C: sa.Table = SegmentChange.__table__  # type: ignore[assignment]
# The ids of one rebuild, in a table of the connection's own. A name of ours, created and dropped
# by each rebuild, in the transaction that uses it.
FRESH = sa.Table(
    "segment_fresh",
    sa.MetaData(),
    sa.Column("person_id", sa.Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)
# How many (person, segment) pairs one query of `refresh_people` may test: every segment's IN list
# is its own set of bound parameters, and SQLite allows 32,766 in a statement.
PAIRS_PER_QUERY = 8_000


@dataclass(frozen=True)
class Built:
    segment_id: int
    size: int
    entered: int
    left: int
    ms: float
    events: list[Event]


def lock(session: Session, segment_ids: Sequence[int]) -> None:
    """On PostgreSQL, one writer of a segment's members at a time (a rebuild and a capture touching
    the same segment queue here), so that a change range read back holds only this transaction's
    rows. SQLite has one writer anyway."""
    if segment_ids and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(S.c.id).where(S.c.id.in_(list(segment_ids))).with_for_update())


def _max_change(conn: sa.Connection, segment_id: int, above: int = 0) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.max(C.c.id)).where(C.c.segment_id == segment_id, C.c.id > above)
        ).scalar()
        or 0
    )


def _min_change(conn: sa.Connection, segment_id: int, above: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.min(C.c.id)).where(C.c.segment_id == segment_id, C.c.id > above)
        ).scalar()
        or 0
    )


def _inserted(conn: sa.Connection, stmt: sa.Insert, params: dict[str, Any] | None = None) -> int:
    """Run an INSERT ... SELECT; how many rows it inserted (SQLAlchemy keeps an INSERT's rowcount
    only when asked)."""
    return int(conn.execute(stmt.execution_options(preserve_rowcount=True), params or {}).rowcount)


def rebuild(session: Session, seg: Loaded, *, now: datetime, cause: str = "rebuild") -> Built:
    """Make the members of `seg` exactly who its definition takes at `now`; record who entered
    and who left. Set-based from start to end."""
    started = time.perf_counter()
    conn = connection(session)
    lock(session, [seg.id])
    mark = _max_change(conn, seg.id)
    FRESH.drop(conn, checkfirst=True)
    FRESH.create(conn)
    try:
        query = compiled(seg.definition)
        fill = sa.insert(FRESH).from_select(["person_id"], query.select)
        size = _inserted(conn, fill, query.params(now, rate_now(session)))
        member = sa.exists().where(M.c.segment_id == seg.id, M.c.person_id == FRESH.c.person_id)
        entered = _inserted(
            conn,
            sa.insert(C).from_select(
                ["segment_id", "person_id", "entered", "at", "cause", "revision"],
                sa.select(*_change_columns(seg, FRESH.c.person_id, True, now, cause))
                .where(~member)
                .order_by(FRESH.c.person_id),
            ),
        )
        hi_in = _max_change(conn, seg.id, mark) if entered else mark
        still = sa.exists().where(FRESH.c.person_id == M.c.person_id)
        left = _inserted(
            conn,
            sa.insert(C).from_select(
                ["segment_id", "person_id", "entered", "at", "cause", "revision"],
                sa.select(*_change_columns(seg, M.c.person_id, False, now, cause))
                .where(M.c.segment_id == seg.id, ~still)
                .order_by(M.c.person_id),
            ),
        )
    finally:
        FRESH.drop(conn)
    events: list[Event] = []
    if left:
        lo, hi = _min_change(conn, seg.id, hi_in), _max_change(conn, seg.id, hi_in)
        gone = sa.select(C.c.person_id).where(C.c.segment_id == seg.id, C.c.id.between(lo, hi))
        conn.execute(sa.delete(M).where(M.c.segment_id == seg.id, M.c.person_id.in_(gone)))
        events.append(SegmentLeft(seg.id, lo, hi, left, cause, now))
    if entered:
        lo, hi = _min_change(conn, seg.id, mark), hi_in
        conn.execute(
            sa.insert(M).from_select(
                ["segment_id", "person_id", "entered_at"],
                sa.select(C.c.segment_id, C.c.person_id, C.c.at).where(
                    C.c.segment_id == seg.id, C.c.id.between(lo, hi)
                ),
            )
        )
        events.insert(0, SegmentEntered(seg.id, lo, hi, entered, cause, now))
    ms = (time.perf_counter() - started) * 1000
    conn.execute(sa.update(S).where(S.c.id == seg.id).values(size=size, built_at=now, build_ms=round(ms, 1)))
    return Built(seg.id, size, entered, left, ms, events)


def _change_columns(seg: Loaded, person: Any, entered: bool, now: datetime, cause: str) -> list[Any]:
    return [
        sa.literal(seg.id, sa.Integer()),
        person,
        sa.literal(entered, sa.Boolean()),
        sa.literal(now, C.c.at.type),
        sa.literal(cause, sa.String()),
        sa.literal(seg.revision, sa.Integer()),
    ]


def refresh_people(
    session: Session,
    person_ids: Iterable[int],
    *,
    now: datetime,
    cause: str = "event",
    reads: frozenset[str] | None = None,
) -> list[Event]:
    """Decide again, for these people, every live segment (or those whose definition reads one of
    `reads`: "lead", "behaviour", ...); write who entered and left. The events are returned."""
    ids = sorted({int(i) for i in person_ids})
    segments = [s for s in live_segments(session) if reads is None or s.definition.kinds & reads]
    if not ids or not segments:
        return []
    rate = rate_now(session)
    union, params = _per_person(tuple((s.id, s.definition) for s in segments))
    values = {k: v for p in params for k, v in p.params(now, rate).items()}
    seg_ids = [s.id for s in segments]
    now_in: set[tuple[int, int]] = set()
    was_in: set[tuple[int, int]] = set()
    per_query = max(1, PAIRS_PER_QUERY // len(segments))
    conn = connection(session)
    for part in chunks(ids, per_query):
        now_in.update((int(r[1]), int(r[0])) for r in conn.execute(union, {**values, "ids": part}))
        was_in.update(_members(conn, seg_ids, part))
    if now_in == was_in:
        return []
    changed = sorted({s for s, _ in now_in ^ was_in})
    if session.get_bind().dialect.name == "postgresql":
        lock(session, changed)  # then read again what a concurrent writer may have changed
        was_in = {(s, p) for s, p in was_in if s not in changed}
        for part in chunks(ids, per_query):
            was_in.update(_members(conn, changed, part))
    by_id = {s.id: s for s in segments}
    events: list[Event] = []
    for segment_id in changed:
        enter = sorted(p for s, p in now_in - was_in if s == segment_id)
        leave = sorted(p for s, p in was_in - now_in if s == segment_id)
        events.extend(_apply(conn, by_id[segment_id], enter, leave, now=now, cause=cause))
    return events


@functools.lru_cache(maxsize=64)
def _per_person(segments: tuple[tuple[int, Definition], ...]) -> tuple[Any, tuple[Query, ...]]:
    """One statement deciding the people in `:ids` for every segment (UNION ALL of the per-person
    shapes, each tagged with its segment), built once per set of live definitions."""
    queries = tuple(compiled(d, few=True, prefix=f"s{i}_") for i, (_, d) in enumerate(segments))
    parts = [
        q.select.add_columns(sa.literal(sid, sa.Integer()).label("segment_id")).where(P.c.id.in_(IDS))
        for (sid, _), q in zip(segments, queries, strict=True)
    ]
    return (parts[0] if len(parts) == 1 else sa.union_all(*parts)), queries


IDS: Any = sa.bindparam("ids", expanding=True)
_MEMBERS = sa.select(M.c.segment_id, M.c.person_id).where(
    M.c.segment_id.in_(sa.bindparam("segments", expanding=True)), M.c.person_id.in_(IDS)
)


def _members(conn: sa.Connection, segment_ids: list[int], person_ids: list[int]) -> set[tuple[int, int]]:
    rows = conn.execute(_MEMBERS, {"segments": segment_ids, "ids": person_ids})
    return {(int(s), int(p)) for s, p in rows}


def _apply(
    conn: sa.Connection, seg: Loaded, enter: list[int], leave: list[int], *, now: datetime, cause: str
) -> list[Event]:
    events: list[Event] = []
    for people, entered in ((enter, True), (leave, False)):
        if not people:
            continue
        rows = [
            {
                "segment_id": seg.id,
                "person_id": p,
                "entered": entered,
                "at": now,
                "cause": cause,
                "revision": seg.revision,
            }
            for p in people
        ]
        ids = [r[0] for r in conn.execute(sa.insert(C).returning(C.c.id), rows)]
        kind = SegmentEntered if entered else SegmentLeft
        events.append(kind(seg.id, min(ids), max(ids), len(ids), cause, now))
    if leave:
        for part in chunks(leave):
            conn.execute(sa.delete(M).where(M.c.segment_id == seg.id, M.c.person_id.in_(part)))
    if enter:
        conn.execute(sa.insert(M), [{"segment_id": seg.id, "person_id": p, "entered_at": now} for p in enter])
    conn.execute(sa.update(S).where(S.c.id == seg.id).values(size=S.c.size + len(enter) - len(leave)))
    return events


def empty(session: Session, seg: Loaded, *, now: datetime, cause: str) -> list[Event]:
    """Everyone leaves (an archived segment): recorded like any exit."""
    conn = connection(session)
    lock(session, [seg.id])
    mark = _max_change(conn, seg.id)
    left = _inserted(
        conn,
        sa.insert(C).from_select(
            ["segment_id", "person_id", "entered", "at", "cause", "revision"],
            sa.select(*_change_columns(seg, M.c.person_id, False, now, cause))
            .where(M.c.segment_id == seg.id)
            .order_by(M.c.person_id),
        ),
    )
    conn.execute(sa.delete(M).where(M.c.segment_id == seg.id))
    conn.execute(sa.update(S).where(S.c.id == seg.id).values(size=0))
    if not left:
        return []
    return [
        SegmentLeft(
            seg.id, _min_change(conn, seg.id, mark), _max_change(conn, seg.id, mark), left, cause, now
        )
    ]
