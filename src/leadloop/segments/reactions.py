"""Reactions (wired in leadloop.bootstrap): whatever changed a person's facts, decided again in the
transaction that changed them. Each turns its events into the people they touched and asks
`membership.refresh_people`; none of them calls another capability."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import (
    ActivitiesAppended,
    ConsentStated,
    ConsentWithdrawn,
    Event,
    LeadAssigned,
    LeadMoved,
    LeadOpened,
    PeopleCaptured,
    PersonErased,
    RecordsEdited,
    TimelinesChanged,
)
from leadloop.segments.membership import refresh_people
from leadloop.store.bulk import chunks, connection
from leadloop.store.tables import Lead, Person

P: sa.Table = Person.__table__  # type: ignore[assignment]
L: sa.Table = Lead.__table__  # type: ignore[assignment]


def _people_of_accounts(session: Session, account_ids: Iterable[int]) -> set[int]:
    conn = connection(session)
    found: set[int] = set()
    for part in chunks(sorted(set(account_ids))):
        found.update(conn.execute(sa.select(P.c.id).where(P.c.account_id.in_(part))).scalars())
    return found


def on_activities(session: Session, events: list[ActivitiesAppended], now: datetime) -> list[Event]:
    """Behaviour, engagement, fit and consent (an unsubscribe) may have moved: wired after scoring,
    so the scores read are the new ones."""
    people = {r["person_id"] for e in events for r in e.rows if r.get("person_id") is not None}
    return refresh_people(session, people, now=now)


def on_people_captured(session: Session, events: list[PeopleCaptured], now: datetime) -> list[Event]:
    return refresh_people(session, {p for e in events for p in e.person_ids}, now=now)


def on_consent_changed(
    session: Session, events: list[ConsentStated | ConsentWithdrawn | PersonErased], now: datetime
) -> list[Event]:
    """Consent moved (a door's opt-in or opt-out, an unsubscribe, an erasure): `consent.email`
    conditions are judged again in that transaction (wired after consent's own reactions)."""
    people: set[int] = set()
    for e in events:
        if isinstance(e, ConsentStated):
            people |= {pid for pid, _ in e.entries}
        elif isinstance(e, ConsentWithdrawn):
            people.add(e.person_id)
        else:
            people |= set(e.person_ids)
    return refresh_people(session, people, now=now)


def on_records_edited(session: Session, events: list[RecordsEdited], now: datetime) -> list[Event]:
    """A field edited by hand, on a person or on their account (wired after the rescore)."""
    people = {p for e in events for p in e.person_ids}
    people |= _people_of_accounts(session, {a for e in events for a in e.account_ids})
    return refresh_people(session, people, now=now)


def on_timelines_changed(session: Session, events: list[TimelinesChanged], now: datetime) -> list[Event]:
    """A merge: the survivor is judged on the merged record, and whoever was merged into them
    leaves every segment (a merged person is in none)."""
    people = {p for e in events for p in e.person_ids}
    people |= _people_of_accounts(session, {a for e in events for a in e.account_ids})
    conn = connection(session)
    for part in chunks(sorted(people)):
        people |= set(conn.execute(sa.select(P.c.id).where(P.c.merged_into_id.in_(part))).scalars())
    return refresh_people(session, people, now=now)


def on_leads_changed(
    session: Session, events: list[LeadMoved | LeadAssigned | LeadOpened], now: datetime
) -> list[Event]:
    """A lead opened, moved stage or changed owner: the people of its account, for the segments
    that read leads only."""
    accounts = {e.account_id for e in events if isinstance(e, LeadOpened)}
    lead_ids = sorted({e.lead_id for e in events if not isinstance(e, LeadOpened)})
    conn = connection(session)
    for part in chunks(lead_ids):
        accounts.update(conn.execute(sa.select(L.c.account_id).where(L.c.id.in_(part))).scalars())
    return refresh_people(session, _people_of_accounts(session, accounts), now=now, reads=frozenset({"lead"}))
