"""Appending to the activity log, the warehouse's truth (ADR 0001): one row per signal, never
edited. A retry with the same external id, idempotency key or content is a no-op.

The result carries an `ActivitiesAppended` event that is not published yet: the use case that
called (`ingest_activities`, `ingest_people`, a CRM import) publishes it, and a reaction returns it
to the runner, which publishes it (core/reactions.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.model import ActivityIn
from leadloop.capture.repository import ensure_accounts, ensure_campaigns
from leadloop.capture.results import Outcome, Result
from leadloop.core.events import ActivitiesAppended
from leadloop.store.bulk import connection, insert_created, select_in
from leadloop.store.tables import Activity, ActivityKey

Link = tuple[int | None, int | None]  # (person id, account id)
ACTIVITIES: sa.Table = Activity.__table__  # type: ignore[assignment]
KEYS: sa.Table = ActivityKey.__table__  # type: ignore[assignment]


def append_activities(
    session: Session, items: list[ActivityIn], links: list[Link], *, now: datetime, source: str
) -> Result:
    """Append activities whose people are known (`links[i]` for `items[i]`)."""
    result = Result()
    if not items:
        return result
    acct_hints = {("external_id", a.account_external_id): None for a in items if a.account_external_id}
    acct_ids = ensure_accounts(session, acct_hints, now=now) if acct_hints else {}
    campaign_ids = ensure_campaigns(session, {a.campaign for a in items if a.campaign}, now=now)

    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for a, (pid, aid) in zip(items, links, strict=True):
        key = a.dedupe_key or (f"ext:{a.external_id}" if a.external_id else f"fp:{a.fingerprint()}")
        keys.append(key)
        account_id = acct_ids.get(("external_id", a.account_external_id)) if a.account_external_id else aid
        rows.append(
            {
                "dedupe_key": key,
                "external_id": a.external_id,
                "person_id": pid,
                "account_id": account_id,
                "visitor_id": a.visitor_id,
                "type": a.type,
                "occurred_at": a.occurred_at,
                "recorded_at": now,
                "channel": a.channel,
                "direction": a.direction,
                "campaign_id": campaign_ids.get(a.campaign) if a.campaign else None,
                "product": a.product,
                "value": a.value,
                "url": a.url,
                "source": source,
                "payload": a.payload,
            }
        )
    # The same key twice in one batch is one activity.
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["dedupe_key"], row)
    # The ledger says which keys are new (activity_keys, ADR 0043): exact under concurrency, and a
    # partitioned log needs no unique index of its own.
    new_keys = {
        r.dedupe_key
        for r in insert_created(
            session,
            KEYS,
            [{"dedupe_key": k} for k in unique],
            keys=("dedupe_key",),
            returning=("dedupe_key",),
        )
    }
    created: dict[str, int] = {}
    if new_keys:
        conn = connection(session)
        made = conn.execute(
            sa.insert(ACTIVITIES).returning(ACTIVITIES.c.id, ACTIVITIES.c.dedupe_key),
            [row for key, row in unique.items() if key in new_keys],
        ).all()
        created = {r.dedupe_key: r.id for r in made}
        conn.execute(
            KEYS.update()
            .where(KEYS.c.dedupe_key == sa.bindparam("key"))
            .values(activity_id=sa.bindparam("aid")),
            [{"key": k, "aid": a} for k, a in created.items()],
        )
    missing = [k for k in keys if k not in created]
    stored: dict[str, int] = (
        {
            k: a
            for k, a in select_in(
                session, (KEYS.c.dedupe_key, KEYS.c.activity_id), KEYS.c.dedupe_key, missing
            )
            if a
        }
        if missing
        else {}
    )
    fresh: list[dict[str, Any]] = []
    for key, row in zip(keys, rows, strict=True):
        if key in created:
            aid = created.pop(key)
            fresh.append({**row, "id": aid})
            result.outcomes.append(Outcome("created", aid, row["account_id"], aid))
        else:
            aid = stored.get(key) or next(f["id"] for f in fresh if f["dedupe_key"] == key)
            result.outcomes.append(Outcome("duplicate", aid, row["account_id"], aid))
    # A visitor who has just identified themselves: their anonymous history joins them now.
    appended = fresh + _stitch_visitors(session, fresh)
    if appended:
        result.events.append(ActivitiesAppended(tuple(appended), now))
    return result


def _stitch_visitors(session: Session, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier anonymous activities of visitors these rows identify get the person and account; they
    are returned so that scoring and the lead summary count them now."""
    known = {
        r["visitor_id"]: (r["person_id"], r["account_id"])
        for r in fresh
        if r.get("visitor_id") and r.get("person_id")
    }
    if not known:
        return []
    rows = session.execute(
        sa.select(
            Activity.id, Activity.visitor_id, Activity.type, Activity.occurred_at, Activity.product
        ).where(Activity.visitor_id.in_(list(known)), Activity.person_id.is_(None))
    ).all()
    if not rows:
        return []
    updates = [{"aid": r.id, "pid": known[r.visitor_id][0], "acct": known[r.visitor_id][1]} for r in rows]
    connection(session).execute(
        sa.text("UPDATE activities SET person_id = :pid, account_id = :acct WHERE id = :aid"), updates
    )
    return [
        {
            "id": r.id,
            "person_id": known[r.visitor_id][0],
            "account_id": known[r.visitor_id][1],
            "type": r.type,
            "occurred_at": r.occurred_at,
            "product": r.product,
            "visitor_id": r.visitor_id,
        }
        for r in rows
    ]
