"""Enrichment use cases: ask a provider about accounts' domains, fill the fields that are empty
(or all, when asked to overwrite), and record each value's provenance. It never runs inside a
capture: the sweeper picks up new accounts after the fact, and `leadloop enrich` re-runs in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.enrich.provider import FIELDS, Provider
from leadloop.enrich.repository import manual_fields
from leadloop.jobs.timers import Due, schedule
from leadloop.store.bulk import insert_ignore
from leadloop.store.tables import Account, Provenance

ENRICH_SWEEP = "enrich_sweep"


@dataclass
class EnrichResult:
    checked: int = 0
    found: int = 0
    filled: int = 0
    kept: int = 0  # values already there, left alone (no --overwrite)


def _json(v: Any) -> Any:
    return str(v) if isinstance(v, Decimal) else v


def enrich_accounts(
    session: Session,
    provider: Provider,
    *,
    now: datetime,
    overwrite: bool = False,
    only_new: bool = False,
    batch: int = 1000,
) -> EnrichResult:
    out = EnrichResult()
    q = (
        sa.select(Account)
        .where(Account.domain.is_not(None), Account.merged_into_id.is_(None))
        .order_by(Account.id)
    )
    if only_new:
        q = q.where(Account.enriched_at.is_(None))
    last = 0
    while True:
        accounts = list(session.scalars(q.where(Account.id > last).limit(batch)))
        if not accounts:
            return out
        last = accounts[-1].id
        found = provider.lookup([a.domain for a in accounts if a.domain])
        # A value a person set by hand is never overwritten by a provider (ADR 0021).
        pinned = manual_fields(session, "account", {a.id for a in accounts})
        rows = []
        for a in accounts:
            out.checked += 1
            a.enriched_at = now
            info = found.get(a.domain or "")
            if info is None:
                continue
            out.found += 1
            for f in FIELDS:
                if f not in info.values:
                    continue
                if f in pinned.get(a.id, ()) or (getattr(a, f) not in (None, "") and not overwrite):
                    out.kept += 1
                    continue
                setattr(a, f, info.values[f])
                out.filled += 1
                rows.append(
                    {
                        "entity": "account",
                        "entity_id": a.id,
                        "field": f,
                        "value": _json(info.values[f]),
                        "source": provider.name,
                        "method": provider.method,
                        "fetched_at": now,
                    }
                )
        if rows:
            keys = [(r["entity_id"], r["field"]) for r in rows]
            session.execute(
                sa.delete(Provenance).where(
                    Provenance.entity == "account",
                    sa.tuple_(Provenance.entity_id, Provenance.field).in_(keys),
                )
            )
            insert_ignore(session, Provenance.__table__, rows, ["entity", "entity_id", "field"])
        session.flush()


def sweep_job(provider: Provider, every: timedelta) -> Any:
    """The sweeper's recurring enrichment of accounts no provider has been asked about yet."""

    def handle(session: Session, due: Due, now: datetime) -> list[Any]:
        enrich_accounts(session, provider, now=now, only_new=True)
        schedule(session, ENRICH_SWEEP, "accounts", now + every)
        return []

    return handle
