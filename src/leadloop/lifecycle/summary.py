"""A lead's activity summary (how many activities, from how many contacts, the latest when): kept
as activities arrive, and computed from the log when a lead opens. The SQL is prebuilt once:
SQLAlchemy memoises the compiled form of a statement object."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.contract.vocab import MACHINE_TYPES
from leadloop.core.events import ActivitiesAppended, Event
from leadloop.lifecycle.model import DEFAULT_PRODUCT
from leadloop.store.bulk import connection, select_in
from leadloop.store.tables import Lead
from leadloop.store.types import UTCDateTime

__all__ = [
    "BUMP_LEAD",
    "DEFAULT_PRODUCT",
    "OPEN_LEAD",
    "PRIOR_ACTIVITIES",
    "REFRESH_CONTACTS",
    "on_activities",
]

BUMP_LEAD = sa.text(
    "UPDATE leads SET activity_count = activity_count + :n,"
    " last_activity_at = CASE WHEN last_activity_at < :last THEN :last ELSE last_activity_at END"
    " WHERE id = :id"
).bindparams(sa.bindparam("last", type_=UTCDateTime()))
PRIOR_ACTIVITIES = sa.text(
    "SELECT count(*) FROM activities WHERE account_id = :account_id AND coalesce(product, :default) = :product"
)
REFRESH_CONTACTS = sa.text(
    "UPDATE leads SET contact_count = (SELECT count(DISTINCT a.person_id) FROM activities a"
    " WHERE a.account_id = leads.account_id AND coalesce(a.product, :default) = leads.product) WHERE id = :id"
)
LEADS: sa.Table = Lead.__table__  # type: ignore[assignment]
OPEN_LEAD = LEADS.insert().returning(LEADS.c.id)


def on_activities(session: Session, events: list[ActivitiesAppended], now: datetime) -> list[Event]:
    """Reaction: the leads of the accounts and products these activities are about count them."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        for row in e.rows:
            # A privacy proxy's open or a scanner's click is no sign of life (ADR 0032): it neither
            # counts nor makes the lead look recently active (the reps' hot list reads that).
            if row["account_id"] is not None and row.get("type") not in MACHINE_TYPES:
                groups[(row["account_id"], row["product"] or DEFAULT_PRODUCT)].append(row)
    if not groups:
        return []
    existing = {
        (r.account_id, r.product): r.id
        for r in select_in(
            session, (Lead.id, Lead.account_id, Lead.product), Lead.account_id, {k[0] for k in groups}
        )
    }
    bumps = [
        {"n": len(acts), "last": max(a["occurred_at"] for a in acts), "id": existing[key]}
        for key, acts in sorted(groups.items())
        if key in existing
    ]
    if bumps:
        conn = connection(session)
        conn.execute(BUMP_LEAD, bumps)
        conn.execute(REFRESH_CONTACTS, [{"default": DEFAULT_PRODUCT, "id": b["id"]} for b in bumps])
    return []
