"""Everything held on a person, as one JSON document (GDPR Art. 15 and 20): their record and every
record merged into them, the activities, the pages they viewed, their consent and its history,
opportunities, notes and tasks about them, manual edits, where enriched values came from, merges,
a tracking objection and whether their address is suppressed. Read-only; the caller audits it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.privacy.erase import group_of
from leadloop.store.snapshot import to_json
from leadloop.store.tables import (
    Account,
    Activity,
    Consent,
    ConsentEvent,
    Erasure,
    Merge,
    Note,
    Opportunity,
    Person,
    Provenance,
    RecordEdit,
    Suppression,
    Task,
    TrackingObjection,
    WebPageView,
)

FORMAT = "leadloop.person-export/1"


def _rows(
    session: Session, table: Any, where: Any, order: Any, *, skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    t: sa.Table = table.__table__
    return [
        {k: v for k, v in to_json(t, r).items() if k not in skip}
        for r in session.execute(sa.select(t).where(where).order_by(order))
    ]


def export_person(session: Session, person_id: int, *, now: datetime) -> dict[str, Any]:
    pid, group = group_of(session, person_id)
    people = _rows(session, Person, Person.id.in_(group), Person.id)
    person = next(p for p in people if p["id"] == pid)
    account = session.execute(
        sa.select(Account.id, Account.name, Account.domain).where(Account.id == person["account_id"])
    ).first()
    visitors = [
        v
        for (v,) in session.execute(
            sa.select(Activity.visitor_id)
            .where(Activity.person_id.in_(group), Activity.visitor_id.is_not(None))
            .distinct()
        )
    ]
    addresses = [p["email"] for p in people if p["email"]]
    suppressed = _rows(
        session,
        Suppression,
        sa.and_(Suppression.kind == "address", Suppression.value.in_(addresses)),
        Suppression.id,
    )
    erasure = session.execute(sa.select(Erasure.at).where(Erasure.person_id == pid)).first()
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "erased_at": erasure.at.isoformat() if erasure else None,
        "person": person,
        "merged_records": [p for p in people if p["id"] != pid],
        "account": dict(account._mapping) if account else None,
        "activities": _rows(session, Activity, Activity.person_id.in_(group), Activity.occurred_at),
        "web_page_views": _rows(session, WebPageView, WebPageView.visitor_id.in_(visitors), WebPageView.at)
        if visitors
        else [],
        "consent": {
            "current": _rows(session, Consent, Consent.person_id.in_(group), Consent.scope),
            "history": _rows(session, ConsentEvent, ConsentEvent.person_id.in_(group), ConsentEvent.id),
        },
        "opportunities": _rows(session, Opportunity, Opportunity.person_id.in_(group), Opportunity.id),
        "notes": _rows(session, Note, Note.person_id.in_(group), Note.id),
        "tasks": _rows(session, Task, Task.person_id.in_(group), Task.id),
        "manual_edits": _rows(
            session,
            RecordEdit,
            sa.and_(RecordEdit.entity == "person", RecordEdit.entity_id.in_(group)),
            RecordEdit.id,
        ),
        "field_sources": _rows(
            session,
            Provenance,
            sa.and_(Provenance.entity == "person", Provenance.entity_id.in_(group)),
            Provenance.field,
        ),
        "merges": _rows(
            session,
            Merge,
            sa.or_(Merge.survivor_id.in_(group), Merge.merged_id.in_(group)),
            Merge.id,
            skip=("snapshot",),
        ),
        "tracking_objection": _rows(
            session, TrackingObjection, TrackingObjection.person_id.in_(group), TrackingObjection.at
        ),
        "suppressed": suppressed,
    }
