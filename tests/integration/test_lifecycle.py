"""The lifecycle on SQLite and PostgreSQL: every move leaves a history row, a move that keeps the
stage keeps its date, a stale move is refused, the CRM's opportunities move their lead, and a call
that arrives after the CRM converted the lead still counts as the first touch."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.identity.account_merge import merge_accounts
from leadloop.lifecycle.handlers import LeadMovedMeanwhile, Move, move_many
from leadloop.lifecycle.model import Trigger
from leadloop.routing.handlers import route_lead
from leadloop.store.db import Database
from leadloop.store.tables import Account, Lead, LeadStageChange
from tests.fixtures.routing import add_mql
from tests.integration.test_routing import MONDAY, team

__all__ = ["team"]


def _history(db: Database, lead_id: int) -> list[tuple[str | None, str, str]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(LeadStageChange.from_stage, LeadStageChange.to_stage, LeadStageChange.trigger)
            .where(LeadStageChange.lead_id == lead_id)
            .order_by(LeadStageChange.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _call(db: Database, account_id: int, at: object) -> None:
    with db.write() as s:
        call = m.parse_activity(
            {"type": "call", "occurred_at": at.isoformat(), "direction": "outbound"},  # type: ignore[attr-defined]
            now=at,  # type: ignore[arg-type]
            require_subject=False,
        )
        h.ingest_activities(s, [call], now=at, source="api", person_ids=[(None, account_id)])  # type: ignore[arg-type]


def test_routing_keeps_the_mql_date_and_each_move_is_in_the_history(
    db: Database, team: dict[str, int]
) -> None:
    with db.write() as s:
        lead_id = add_mql(
            s, now=MONDAY, name="Dated Ltd", country="GB", grade="A", since=MONDAY - timedelta(days=3)
        )
    with db.write() as s:
        route_lead(s, lead_id, now=MONDAY)
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.owner_user_id is not None
        assert lead.stage_changed_at == MONDAY - timedelta(days=3)  # routed, still an MQL since then
    assert _history(db, lead_id) == [("mql", "mql", "routed")]


def test_a_call_after_the_crm_converted_the_lead_still_stops_the_sla(
    db: Database, team: dict[str, int]
) -> None:
    with db.write() as s:
        lead_id = add_mql(s, now=MONDAY, name="Converted Ltd", country="GB", grade="A")
        account = s.scalar(
            sa.select(Account).join(Lead, Lead.account_id == Account.id).where(Lead.id == lead_id)
        )
        assert account is not None
        account.external_id, account_id = "ACC-CONV", account.id
    with db.write() as s:
        route_lead(s, lead_id, now=MONDAY)
    opp = m.parse_opportunity(
        {
            "external_id": "OPP-1",
            "account_external_id": "ACC-CONV",
            "product": "analytics",
            "created_at": (MONDAY + timedelta(minutes=1)).isoformat(),
            "outcome": "open",
            "amount": "1000",
        },
        now=MONDAY + timedelta(minutes=1),
    )
    with db.write() as s:
        h.upsert_opportunities(s, [opp], now=MONDAY + timedelta(minutes=1))
    _call(db, account_id, MONDAY + timedelta(minutes=2))  # synced from the rep's phone later
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.stage == "opportunity"
        assert lead.first_touch_at == MONDAY + timedelta(minutes=2)
    # The touch of a lead no longer with sales is an SLA fact, not a lifecycle move.
    assert _history(db, lead_id) == [("mql", "mql", "routed"), ("mql", "opportunity", "converted")]


def test_two_opportunities_for_one_lead_in_one_batch_move_it_in_order(
    db: Database, team: dict[str, int]
) -> None:
    with db.write() as s:
        lead_id = add_mql(s, now=MONDAY, name="Twice Ltd", country="GB", grade="A")
        account = s.scalar(
            sa.select(Account).join(Lead, Lead.account_id == Account.id).where(Lead.id == lead_id)
        )
        assert account is not None
        account.external_id = "ACC-TWICE"
    rows = [
        {"external_id": "O-1", "outcome": "won", "closed_at": (MONDAY + timedelta(days=9)).isoformat()},
        {"external_id": "O-2", "outcome": "open"},
        {"external_id": "O-3", "outcome": "lost", "closed_at": (MONDAY + timedelta(days=20)).isoformat()},
    ]
    later = MONDAY + timedelta(days=30)
    opps = [
        m.parse_opportunity(
            {
                "account_external_id": "ACC-TWICE",
                "product": "analytics",
                "created_at": MONDAY.isoformat(),
                **r,
            },
            now=later,
        )
        for r in rows
    ]
    with db.write() as s:
        h.upsert_opportunities(s, opps, now=later)
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and (lead.stage, lead.stage_changed_at) == (
            "lost",
            MONDAY + timedelta(days=20),
        )
    assert [t for _, _, t in _history(db, lead_id)] == ["won", "converted", "lost"]


def test_a_move_from_a_stage_the_lead_has_left_is_refused_and_nothing_is_saved(
    db: Database, team: dict[str, int]
) -> None:
    with db.write() as s:
        lead_id = add_mql(s, now=MONDAY, name="Raced Ltd", country="GB")
    with pytest.raises(LeadMovedMeanwhile, match="changed stage while it was being"), db.write() as s:
        # The caller read "inquiry" a moment ago; another transaction has made it an MQL since.
        move_many(s, [Move(lead_id, "inquiry", Trigger.REACHED_MQL, MONDAY)], now=MONDAY)
    assert _history(db, lead_id) == []


def test_an_account_merge_that_makes_an_mql_routes_it_in_the_same_transaction(
    db: Database, team: dict[str, int]
) -> None:
    """The merged timeline crosses the MQL threshold: the rebuilt score raises the MQL and routing
    reacts at once (before this change, merges dropped the events and the MQL waited)."""
    accounts = [
        {
            "external_id": "UK1",
            "name": "Orbit Data Ltd",
            "domain": "orbit.co.uk",
            "country": "GB",
            "employees": "800",
            "industry": "Software",
        },
        {
            "external_id": "UK2",
            "name": "Orbit Data",
            "domain": "orbit-data.co.uk",
            "country": "GB",
            "employees": "800",
            "industry": "Software",
        },
    ]
    people = [
        {"email": "vp@orbit.co.uk", "seniority": "VP", "department": "Marketing", "country": "GB"},
        {
            "email": "cto@orbit-data.co.uk",
            "seniority": "C-Level",
            "department": "Engineering",
            "country": "GB",
        },
    ]
    # Engagement, not a hand-raise (a demo request would make each an MQL at once).
    acts = [("vp@orbit.co.uk", "contact_request"), ("cto@orbit-data.co.uk", "contact_request")]
    with db.write() as s:
        h.upsert_accounts(s, [m.parse_account(a) for a in accounts], now=MONDAY)
        h.ingest_people(s, [m.parse_person(p) for p in people], now=MONDAY, source="import")
        h.ingest_activities(
            s,
            [
                m.parse_activity(
                    {"email": e, "type": t, "occurred_at": MONDAY.isoformat(), "product": "analytics"},
                    now=MONDAY,
                )
                for e, t in acts
            ],
            now=MONDAY,
            source="api",
        )
        survivor, merged = (
            s.scalar(sa.select(Account.id).where(Account.external_id == x)) for x in ("UK1", "UK2")
        )
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead).where(Lead.stage == "mql")) == 0
    with db.write() as s:
        done = merge_accounts(s, survivor, merged, now=MONDAY)  # type: ignore[arg-type]
    with db.read() as s:
        lead = s.scalars(sa.select(Lead).where(Lead.account_id == survivor, Lead.stage == "mql")).one()
        assert lead.owner_user_id is not None  # the UK pool has it: routed inside the merge's commit
    assert any(type(e).__name__ == "LeadAssigned" for e in done.events)
    assert ("mql", "mql", "routed") in _history(db, lead.id)
