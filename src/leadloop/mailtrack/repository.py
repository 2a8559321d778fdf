"""What recording a hit reads: who the message's person is now, whether anything of theirs may be
recorded, and the other clicks of the same message around a moment. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.consent.gate import survivor_of
from leadloop.mailtrack.classify import Sibling
from leadloop.mailtrack.model import TYPES
from leadloop.mailtrack.tokens import CLICK
from leadloop.store.tables import Activity, Erasure, Person, TrackingObjection

CLICK_TYPES = TYPES[CLICK]


@dataclass(frozen=True, slots=True)
class Recipient:
    person_id: int  # the message's person, or whoever they were merged into since
    account_id: int | None
    erased: bool
    objected: bool  # to tracking (capture/visits.py honours the same objection)


def recipient(session: Session, person_id: int) -> Recipient | None:
    found = survivor_of(session, person_id)
    if found is None:
        return None
    pid = found[0]
    account_id = session.scalar(sa.select(Person.account_id).where(Person.id == pid))
    erased = session.scalar(sa.select(Erasure.id).where(Erasure.person_id == pid)) is not None
    objected = session.get(TrackingObjection, pid) is not None
    return Recipient(pid, account_id, erased, objected)


def siblings(
    session: Session, person_id: int, message: str, at: datetime, within: timedelta
) -> tuple[Sibling, ...]:
    """The clicks of this message within `within` of `at`, a person's or a machine's. The message is
    in the payload, read here rather than in SQL: a person has a handful of clicks in two seconds."""
    rows = session.execute(
        sa.select(Activity.occurred_at, Activity.url, Activity.payload).where(
            Activity.person_id == person_id,
            Activity.type.in_(CLICK_TYPES),
            Activity.occurred_at >= at - within,
            Activity.occurred_at <= at + within,
        )
    ).all()
    return tuple(Sibling(r.occurred_at, r.url) for r in rows if (r.payload or {}).get("message") == message)
