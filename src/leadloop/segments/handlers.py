"""Segment use cases: save a definition (validated, then built at once), rebuild, archive, count
a draft; and the timer that rebuilds a segment on the clock (ADR 0028). Each loads, decides,
commits once (the caller's unit of work) and publishes what changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, InvalidInput
from leadloop.core.events import Event
from leadloop.core.logging import get_logger
from leadloop.core.reactions import publish
from leadloop.jobs.timers import Due, cancel, schedule
from leadloop.segments.compile import members_select
from leadloop.segments.membership import Built, empty, rebuild
from leadloop.segments.model import Definition
from leadloop.segments.policy import SegmentPolicy, policy_of
from leadloop.segments.repository import S, load, rate_now
from leadloop.store.bulk import connection

log = get_logger("leadloop.segments")
SEGMENT_REFRESH = "segment_refresh"
MAX_NAME = 100
MAX_DESCRIPTION = 500


def subject(segment_id: int) -> str:
    return f"segment:{segment_id}"


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("give the segment a name, such as “Pricing visitors in DACH”")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a segment's name has at most {MAX_NAME} characters; this one has {len(name)}")
    return name


def _name_taken(session: Session, name: str, but: int | None = None) -> None:
    stmt = sa.select(S.c.id).where(sa.func.lower(S.c.name) == name.lower())
    if but is not None:
        stmt = stmt.where(S.c.id != but)
    if connection(session).execute(stmt).first() is not None:
        raise Conflict(f"a segment called “{name}” exists already: choose another name")


def count(session: Session, definition: Definition, *, now: datetime) -> int:
    """How many people the definition takes now (the builder's live count)."""
    query = members_select(definition, now=now, rate=rate_now(session))
    return int(session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


@dataclass(frozen=True)
class Saved:
    segment_id: int
    built: Built
    events: list[Event]


def create_segment(
    session: Session,
    *,
    name: str,
    definition: Definition,
    now: datetime,
    by_user_id: int | None = None,
    description: str | None = None,
) -> Saved:
    """Store a validated definition and build it at once: the page shows its members on return."""
    name = _clean_name(name)
    _name_taken(session, name)
    segment_id = (
        connection(session)
        .execute(
            sa.insert(S)
            .values(
                name=name,
                description=(description or "").strip()[:MAX_DESCRIPTION] or None,
                definition=definition.document(),
                revision=1,
                created_at=now,
                created_by_user_id=by_user_id,
                updated_at=now,
                updated_by_user_id=by_user_id,
                size=0,
            )
            .returning(S.c.id)
        )
        .scalar_one()
    )
    return _build_and_arm(session, segment_id, now=now, cause="rebuild")


def update_segment(
    session: Session,
    segment_id: int,
    *,
    name: str,
    definition: Definition,
    now: datetime,
    by_user_id: int | None = None,
    description: str | None = None,
) -> Saved:
    """A new revision of the definition: members follow at once, and who left because of the edit
    is recorded as leaving (cause "edit")."""
    seg = load(session, segment_id)
    if seg.archived_at is not None:
        raise Conflict(f"segment #{segment_id} is archived; create a new segment instead")
    name = _clean_name(name)
    _name_taken(session, name, but=segment_id)
    connection(session).execute(
        sa.update(S)
        .where(S.c.id == segment_id)
        .values(
            name=name,
            description=(description or "").strip()[:MAX_DESCRIPTION] or None,
            definition=definition.document(),
            revision=S.c.revision + (0 if definition == seg.definition else 1),
            updated_at=now,
            updated_by_user_id=by_user_id,
        )
    )
    return _build_and_arm(session, segment_id, now=now, cause="edit")


def rebuild_segment(session: Session, segment_id: int, *, now: datetime, cause: str = "rebuild") -> Saved:
    seg = load(session, segment_id)
    if seg.archived_at is not None:
        raise Conflict(f"segment #{segment_id} is archived; it has no members to rebuild")
    return _build_and_arm(session, segment_id, now=now, cause=cause)


def _build_and_arm(session: Session, segment_id: int, *, now: datetime, cause: str) -> Saved:
    seg = load(session, segment_id)
    built = rebuild(session, seg, now=now, cause=cause)
    every = policy_of(session).every(seg.definition.time_dependent)
    schedule(session, SEGMENT_REFRESH, subject(segment_id), now + every)
    return Saved(segment_id, built, publish(session, built.events, now=now))


def archive_segment(
    session: Session, segment_id: int, *, now: datetime, by_user_id: int | None = None
) -> list[Event]:
    """Archived: no longer kept up to date, everyone recorded as leaving; its history stays."""
    seg = load(session, segment_id)
    if seg.archived_at is not None:
        return []
    events = empty(session, seg, now=now, cause="archive")
    connection(session).execute(
        sa.update(S)
        .where(S.c.id == segment_id)
        .values(archived_at=now, updated_at=now, updated_by_user_id=by_user_id)
    )
    cancel(session, SEGMENT_REFRESH, subject(segment_id), now=now)
    return publish(session, events, now=now)


def refresh_job(policy: SegmentPolicy) -> Any:
    """The timer of one segment: rebuild it (cause "refresh"), then arm the next one. A segment
    without time in its definition only meets this once a day, as a safety net; if that rebuild
    finds changes, some path changed people without an event, and the log says so."""

    def handle(session: Session, due: Due, now: datetime) -> list[Event]:
        segment_id = int(due.subject.removeprefix("segment:"))
        seg = load(session, segment_id)
        if seg.archived_at is not None:
            return []
        built = rebuild(session, seg, now=now, cause="refresh")
        ticking = seg.definition.time_dependent
        if not ticking and (built.entered or built.left):
            log.warning("segment.missed_changes", segment=segment_id, entered=built.entered, left=built.left)
        schedule(
            session, SEGMENT_REFRESH, due.subject, now + max(policy.every(ticking), timedelta(minutes=1))
        )
        return publish(session, built.events, now=now)

    return handle
