"""Reading segments: the list, one segment's members and history, the clauses other lists filter
with (`segment=` on people, accounts and leads), the CSV of members, and the people a
SegmentEntered/SegmentLeft event points at (for sequences, issue 14 item 2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import person_clause
from leadloop.core.events import SegmentEntered, SegmentLeft
from leadloop.segments.document import to_text
from leadloop.segments.model import Definition, describe
from leadloop.segments.repository import definition_of, load
from leadloop.store.tables import Account, Person, Segment, SegmentChange, SegmentMember, User

MEMBERS_PAGE = 50
HISTORY_PAGE = 50
EXPORT_LIMIT = 1_000_000  # a segment is a target list: all of it, streamed
KINDS_WORDS = {
    "profile": "profile",
    "firmographics": "firmographics",
    "scores": "scores",
    "consent": "consent",
    "lead": "leads",
    "behaviour": "behaviour",
}


# What other capabilities use.


def people_in(segment_id: int) -> sa.ColumnElement[bool]:
    """people.id is a member of the segment now: `.where(people_in(7))` on any query of people."""
    members = sa.select(SegmentMember.person_id).where(SegmentMember.segment_id == segment_id)
    return Person.id.in_(members)


def member_accounts(segment_id: int) -> sa.Select[Any]:
    """SELECT the accounts with a member of the segment: `Lead.account_id.in_(member_accounts(7))`."""
    return (
        sa.select(Person.account_id)
        .join(SegmentMember, SegmentMember.person_id == Person.id)
        .where(SegmentMember.segment_id == segment_id, Person.account_id.is_not(None))
    )


def changed_people(event: SegmentEntered | SegmentLeft) -> sa.Select[Any]:
    """SELECT person_id of the people the event says entered (or left): to INSERT ... SELECT from."""
    return sa.select(SegmentChange.person_id).where(
        SegmentChange.segment_id == event.segment_id,
        SegmentChange.id.between(event.first_change, event.last_change),
        SegmentChange.entered.is_(isinstance(event, SegmentEntered)),
    )


def segment_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of the live segments, for a list's filter."""
    return [
        (int(i), str(n))
        for i, n in session.execute(
            sa.select(Segment.id, Segment.name).where(Segment.archived_at.is_(None)).order_by(Segment.name)
        )
    ]


def segments_of(session: Session, person_id: int) -> list[tuple[int, str, datetime]]:
    """The live segments a person is in, with when they entered."""
    rows = session.execute(
        sa.select(Segment.id, Segment.name, SegmentMember.entered_at)
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.person_id == person_id, Segment.archived_at.is_(None))
        .order_by(Segment.name)
    )
    return [(int(i), str(n), at) for i, n, at in rows]


# The pages.


@dataclass(frozen=True)
class SegmentRow:
    id: int
    name: str
    description: str | None
    size: int
    built_at: datetime | None
    build_ms: float | None
    revision: int
    updated_at: datetime
    archived_at: datetime | None
    definition: Definition

    @property
    def sentence(self) -> str:
        return describe(self.definition.match)

    @property
    def reads(self) -> list[str]:
        return sorted(KINDS_WORDS[k] for k in self.definition.kinds)

    @property
    def ticking(self) -> bool:
        return self.definition.time_dependent

    @property
    def document(self) -> str:
        return to_text(self.definition)


def _row(r: Any) -> SegmentRow:
    return SegmentRow(
        r.id,
        r.name,
        r.description,
        r.size,
        r.built_at,
        r.build_ms,
        r.revision,
        r.updated_at,
        r.archived_at,
        definition_of(r.definition),
    )


def list_segments(session: Session, *, archived: bool = False) -> list[SegmentRow]:
    stmt = sa.select(Segment.__table__).where(
        Segment.archived_at.is_not(None) if archived else Segment.archived_at.is_(None)
    )
    return [_row(r) for r in session.execute(stmt.order_by(Segment.name))]


def get_segment(session: Session, segment_id: int) -> SegmentRow:
    load(session, segment_id)  # NotFound with its sentence
    return _row(session.execute(sa.select(Segment.__table__).where(Segment.id == segment_id)).one())


@dataclass(frozen=True)
class Member:
    person_id: int
    name: str
    email: str | None
    title: str | None
    account_id: int | None
    account: str | None
    entered_at: datetime


def members(
    session: Session,
    segment_id: int,
    *,
    scope: Scope = EVERYTHING,
    page: int = 1,
    per_page: int = MEMBERS_PAGE,
) -> tuple[list[Member], int]:
    """A page of the members the viewer may see (newest entries first) and how many they may see."""
    base = (
        sa.select(SegmentMember.person_id)
        .join(Person, Person.id == SegmentMember.person_id)
        .where(SegmentMember.segment_id == segment_id, person_clause(scope))
    )
    total = int(session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0)
    rows = session.execute(
        base.with_only_columns(
            Person.id,
            Person.first_name,
            Person.last_name,
            Person.email,
            Person.title,
            Account.id,
            Account.name,
            SegmentMember.entered_at,
        )
        .outerjoin(Account, Account.id == Person.account_id)
        .order_by(SegmentMember.entered_at.desc(), Person.id.desc())
        .limit(per_page)
        .offset((max(1, page) - 1) * per_page)
    )
    found = [
        Member(
            pid, " ".join(x for x in (first, last) if x) or email or f"#{pid}", email, title, aid, aname, at
        )
        for pid, first, last, email, title, aid, aname, at in rows
    ]
    return found, total


@dataclass(frozen=True)
class Change:
    id: int
    person_id: int
    name: str
    entered: bool
    at: datetime
    cause: str
    revision: int


def history(
    session: Session,
    segment_id: int,
    *,
    scope: Scope = EVERYTHING,
    before: int | None = None,
    limit: int = HISTORY_PAGE,
) -> list[Change]:
    """Entries and exits, newest first (`before`: a change id, for the next page)."""
    stmt = (
        sa.select(
            SegmentChange.id,
            SegmentChange.person_id,
            Person.first_name,
            Person.last_name,
            Person.email,
            SegmentChange.entered,
            SegmentChange.at,
            SegmentChange.cause,
            SegmentChange.revision,
        )
        .join(Person, Person.id == SegmentChange.person_id)
        .where(SegmentChange.segment_id == segment_id, person_clause(scope))
    )
    if before is not None:
        stmt = stmt.where(SegmentChange.id < before)
    rows = session.execute(stmt.order_by(SegmentChange.id.desc()).limit(limit))
    return [
        Change(
            cid, pid, " ".join(x for x in (first, last) if x) or email or f"#{pid}", entered, at, cause, rev
        )
        for cid, pid, first, last, email, entered, at, cause, rev in rows
    ]


def flow(session: Session, segment_id: int) -> tuple[int, int]:
    """How many entries and exits were ever recorded."""
    rows = dict(
        session.execute(
            sa.select(SegmentChange.entered, sa.func.count())
            .where(SegmentChange.segment_id == segment_id)
            .group_by(SegmentChange.entered)
        ).all()
    )
    return int(rows.get(True, 0)), int(rows.get(False, 0))


def creator(session: Session, user_id: int | None) -> str | None:
    return session.scalar(sa.select(User.name).where(User.id == user_id)) if user_id else None


EXPORT_HEADER = [
    "person_id",
    "external_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "country",
    "account_id",
    "account",
    "email_opt_in",
    "entered_at",
]


def export_members(
    session: Session, segment_id: int, *, scope: Scope = EVERYTHING
) -> Iterator[tuple[Any, ...]]:
    """The segment as a target list: every member the viewer may see, in person order."""
    stmt = (
        sa.select(
            Person.id,
            Person.external_id,
            Person.email,
            Person.first_name,
            Person.last_name,
            Person.title,
            Person.country,
            Account.id,
            Account.name,
            Person.email_opt_in,
            SegmentMember.entered_at,
        )
        .join(Person, Person.id == SegmentMember.person_id)
        .outerjoin(Account, Account.id == Person.account_id)
        .where(SegmentMember.segment_id == segment_id, person_clause(scope))
        .order_by(SegmentMember.person_id)
        .limit(EXPORT_LIMIT)
    )
    yield from (tuple(r) for r in session.execute(stmt).yield_per(1000))
