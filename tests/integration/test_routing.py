"""Routing on SQLite and PostgreSQL: an MQL gets its owner at once through the rules and pools,
the path is audited, SLA clocks run in business time with a moving clock and no saves (remind,
breach, escalate, reassign), a logged call stops them, reps accept or reject with a reason, and a
rep who leaves never orphans a lead."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.auth.handlers import create_user
from leadloop.bootstrap import timer_handlers
from leadloop.capture import model as m
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import InvalidInput
from leadloop.documents.handlers import activate, save_draft
from leadloop.jobs.timers import TIMERS, pending
from leadloop.jobs.worker import Worker
from leadloop.routing import admin
from leadloop.routing.document import parse_rules
from leadloop.routing.handlers import accept, deactivate_user, reject, route_lead, set_manager
from leadloop.routing.kind import ROUTING
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Lead, Notification, Outbox, OutOfOffice, RoutingDecision, Team, User
from tests.fixtures.routing import activate_rules, add_mql

MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # 09:30 in London, 10:30 in Berlin
RULES = """\
name: team
version: 1
fallback: {queue: Sales inbox}
pools:
  uk:
    mode: round_robin
    members: [{user: ann@x.io}, {user: bob@x.io}, {user: cy@x.io}]
rules:
  - name: UK and Ireland
    when: {country: [GB, IE]}
    assign: {pool: uk}
  - name: Germany
    when: {country: [DE]}
    assign: {user: dora@x.io}
sla:
  - {name: Hot, when: {grade: [A, B]}, first_touch_minutes: 5, remind_at: 3, escalate_at: 5, reassign_at: 15}
reject_reasons: [not_a_fit, no_budget, duplicate]
"""


@pytest.fixture
def team(db: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    with db.write() as s:
        for name in ("ann", "bob", "cy", "dora", "max"):
            ids[name] = create_user(
                s,
                email=f"{name}@x.io",
                name=name.title(),
                role="manager" if name == "max" else "rep",
                password=None,
                now=MONDAY,
            )
        for name in ("ann", "bob", "cy"):
            u = s.get(User, ids[name])
            assert u is not None
            u.timezone, u.holiday_country = "Europe/London", "GB"
            set_manager(s, ids[name], ids["max"])
        dora = s.get(User, ids["dora"])
        assert dora is not None
        dora.timezone = "Europe/Berlin"
        warnings = activate_rules(s, RULES, now=MONDAY)
        assert warnings and "catch-all" in warnings[0]
    return ids


def _mql(db: Database, country: str, *, grade: str = "A", name: str | None = None) -> int:
    with db.write() as s:
        return add_mql(
            s, now=MONDAY, name=name or f"{country} Ltd", name_key=name or "k", country=country, grade=grade
        )


def _route(db: Database, lead_id: int, now: datetime) -> None:
    with db.write() as s:
        route_lead(s, lead_id, now=now)


def _owner(db: Database, lead_id: int) -> str | None:
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        if lead.owner_user_id:
            return s.scalar(sa.select(User.email).where(User.id == lead.owner_user_id))
        return s.scalar(sa.select(Team.name).where(Team.id == lead.owner_team_id))


def test_rules_and_round_robin_with_an_audited_path(db: Database, team: dict[str, int]) -> None:
    leads = [_mql(db, "GB") for _ in range(6)]
    for lead_id in leads:
        _route(db, lead_id, MONDAY)
    assert [_owner(db, i) for i in leads] == ["ann@x.io", "bob@x.io", "cy@x.io"] * 2
    de = _mql(db, "DE")
    _route(db, de, MONDAY)
    assert _owner(db, de) == "dora@x.io"
    us = _mql(db, "US")
    _route(db, us, MONDAY)
    assert _owner(db, us) == "Sales inbox"
    with db.read() as s:
        d = s.scalars(sa.select(RoutingDecision).where(RoutingDecision.lead_id == us)).one()
        assert [p["step"] for p in d.path] == ["rule UK and Ireland", "rule Germany", "rules", "fallback"]
        assert d.path[0]["why"] == "country is US, not one of GB, IE"
        lead = s.get(Lead, leads[0])
        assert (
            lead is not None and lead.sla_policy == "Hot" and lead.sla_due_at == MONDAY + timedelta(minutes=5)
        )
    _route(db, leads[0], MONDAY)  # routing an already routed MQL again changes nothing
    assert _owner(db, leads[0]) == "ann@x.io"


def test_away_reps_are_skipped_and_an_empty_pool_falls_back_with_an_alert(
    db: Database, team: dict[str, int]
) -> None:
    with db.write() as s:
        s.add(
            OutOfOffice(
                user_id=team["ann"], starts_at=MONDAY - timedelta(days=1), ends_at=MONDAY + timedelta(days=3)
            )
        )
    first = _mql(db, "GB")
    _route(db, first, MONDAY)
    assert _owner(db, first) == "bob@x.io"
    with db.read() as s:
        path = s.scalars(sa.select(RoutingDecision.path).where(RoutingDecision.lead_id == first)).one()
        assert {
            "step": "pool uk",
            "result": "skipped",
            "why": "ann@x.io: out of office until 2026-11-05 09:30 UTC",
        } in path
    saturday = datetime(2026, 11, 7, 11, tzinfo=UTC)
    late = _mql(db, "IE")
    _route(db, late, saturday)
    assert _owner(db, late) == "Sales inbox"
    with db.read() as s:
        path = s.scalars(sa.select(RoutingDecision.path).where(RoutingDecision.lead_id == late)).one()
        assert path[-1]["step"] == "alert" and "every member is unavailable" in path[-1]["why"]


def test_sla_clock_reminds_breaches_escalates_and_reassigns_without_a_save(
    db: Database, team: dict[str, int]
) -> None:
    clock = FrozenClock(MONDAY)
    lead_id = _mql(db, "GB")
    _route(db, lead_id, clock())
    assert _owner(db, lead_id) == "ann@x.io"
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=0)))
    clock.advance(minutes=3, seconds=1)
    assert worker.run_once() == 1  # the reminder
    clock.advance(minutes=2)
    assert worker.run_once() == 2  # the breach and the escalation
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.sla_breached_at == MONDAY + timedelta(minutes=5)
        mail = {
            r.key.split(":")[0]: r.payload
            for r in s.scalars(sa.select(Outbox).where(Outbox.channel == "email"))
        }
    assert mail["remind"]["to"] == "ann@x.io" and "escalate" not in mail  # max gets a digest (test_sla.py)
    assert mail["breach"]["to"] == "ann@x.io" and "deadline" in mail["breach"]["body"]
    with db.read() as s:
        assert pending(s, "sla_digest", f"manager:{team['max']}:2026-11-02T10:00:00+00:00") is not None
        # In the app at once: the owner hears of the breach, the manager of the escalation.
        notices = sorted(
            (uid, kind, title)
            for uid, kind, title in s.execute(
                sa.select(Notification.user_id, Notification.kind, Notification.title).where(
                    Notification.kind != "lead_assigned"  # (ann heard of the lead when it came)
                )
            )
        )
    assert notices == [
        (team["ann"], "sla_breach", "SLA breached: GB Ltd"),
        (team["max"], "sla_escalated", "Escalated: GB Ltd (Ann)"),
    ]
    clock.advance(minutes=10)
    assert worker.run_once() == 1  # the reassignment, to someone else in the pool
    assert _owner(db, lead_id) == "bob@x.io"
    with db.read() as s:
        reasons = [
            r
            for (r,) in s.execute(
                sa.select(RoutingDecision.reason)
                .where(RoutingDecision.lead_id == lead_id)
                .order_by(RoutingDecision.id)
            )
        ]
        assert reasons == ["mql", "sla_escalated", "sla_reassign"]
        assert pending(s, "sla_due", f"lead:{lead_id}") == clock() + timedelta(
            minutes=5
        )  # a fresh clock for bob


def test_sla_minutes_are_business_minutes_of_the_owner(db: Database, team: dict[str, int]) -> None:
    friday_late = datetime(2026, 11, 6, 16, 58, tzinfo=UTC)  # 16:58 in London
    lead_id = _mql(db, "GB")
    _route(db, lead_id, friday_late)
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.sla_due_at == datetime(2026, 11, 9, 9, 3, tzinfo=UTC)  # Monday 09:03


def test_a_logged_call_is_the_first_touch_and_stops_the_clock(db: Database, team: dict[str, int]) -> None:
    lead_id = _mql(db, "GB", name="Touchy Ltd")
    _route(db, lead_id, MONDAY)
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None
        account_id = lead.account_id
    with db.write() as s:
        call = m.parse_activity(
            {
                "account_external_id": "",
                "type": "call",
                "occurred_at": (MONDAY + timedelta(minutes=2)).isoformat(),
                "direction": "outbound",
            },
            now=MONDAY + timedelta(minutes=2),
            require_subject=False,
        )
        h.ingest_activities(
            s, [call], now=MONDAY + timedelta(minutes=2), source="api", person_ids=[(None, account_id)]
        )
    with db.read() as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.first_touch_at == MONDAY + timedelta(minutes=2)
        assert (
            pending(s, "sla_due", f"lead:{lead_id}") is None
            and pending(s, "sla_reassign", f"lead:{lead_id}") is None
        )


def test_accept_reject_and_a_rep_who_leaves(db: Database, team: dict[str, int]) -> None:
    a, b, c = (_mql(db, "GB") for _ in range(3))
    for lead_id in (a, b, c):
        _route(db, lead_id, MONDAY)
    with db.write() as s:
        ann = s.get(User, team["ann"])
        assert ann is not None
        assert accept(s, a, ann, now=MONDAY).stage == "sal"
        with pytest.raises(
            InvalidInput, match="unknown reason 'meh'; choose one of: not_a_fit, no_budget, duplicate"
        ):
            reject(s, a, ann, "meh", now=MONDAY)
    with db.write() as s:
        bob = s.get(User, team["bob"])
        assert bob is not None
        lead = reject(s, b, bob, "no_budget", now=MONDAY)
        assert (lead.stage, lead.rejected_reason, lead.owner_user_id) == ("recycled", "no_budget", None)
        assert pending(s, "sla_due", f"lead:{b}") is None
    with db.write() as s:
        assert deactivate_user(s, team["ann"], now=MONDAY) == 1
    assert _owner(db, a) in ("bob@x.io", "cy@x.io")
    with (
        db.write() as s,
        pytest.raises(InvalidInput, match=re.escape("cycle: max@x.io → ann@x.io → max@x.io")),
    ):
        set_manager(s, team["max"], team["ann"])


def test_what_if_replays_past_leads_without_writing(db: Database, team: dict[str, int]) -> None:
    leads = [_mql(db, "GB") for _ in range(4)]
    for lead_id in leads:
        _route(db, lead_id, MONDAY)
    everyone_to_dora = RULES.replace("version: 1", "version: 2").replace("country: [DE]", "country: [DE, GB]")
    everyone_to_dora = everyone_to_dora.replace(
        "  - name: UK and Ireland\n    when: {country: [GB, IE]}\n    assign: {pool: uk}\n", ""
    )
    with db.read() as s:
        result = admin.what_if(s, parse_rules(everyone_to_dora), now=MONDAY).summary()
    assert result["leads"] == 4 and result["changed"] == 4 and result["by_owner"] == {"dora@x.io": 4}
    assert [_owner(db, i) for i in leads] == ["ann@x.io", "bob@x.io", "cy@x.io", "ann@x.io"]
    with db.read() as s:  # the rules in force change nobody's lead, whatever turn each pool is at
        same = admin.what_if(s, parse_rules(RULES), now=MONDAY).summary()
    assert same["leads"] == 4 and same["changed"] == 0 and same["examples"] == []
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TIMERS)) > 0
    with db.write() as s:
        draft, _ = save_draft(
            s,
            ROUTING,
            RULES.replace("version: 1", "version: 3").replace("dora@x.io", "nobody@x.io"),
            now=MONDAY,
        )
        with pytest.raises(InvalidInput, match=re.escape("these users do not exist: nobody@x.io")):
            activate(s, ROUTING, draft, now=MONDAY)
    # Owners no decision gave (an import with owners, a story's worked deals): one outside the pool
    # the rules pick is not the rules' doing, one in it is another turn; neither is a rule change.
    outside, member = _mql(db, "GB"), _mql(db, "GB")
    with db.write() as s:
        for lead_id, owner in ((outside, "dora"), (member, "bob")):
            s.execute(
                sa.update(Lead)
                .where(Lead.id == lead_id)
                .values(owner_user_id=team[owner], owner_team_id=None, assigned_at=MONDAY)
            )
    with db.read() as s:
        again = admin.what_if(s, parse_rules(RULES), now=MONDAY).summary()
    assert (again["leads"], again["changed"], again["by_hand"]) == (6, 0, 1), again


def test_the_new_owner_hears_of_a_lead_in_the_app_at_once(db: Database, team: dict[str, int]) -> None:
    lead_id = _mql(db, "GB", name="Heard Ltd")
    _route(db, lead_id, MONDAY)
    with db.read() as s:
        rows = s.execute(sa.select(Notification.user_id, Notification.title, Notification.body)).all()
    assert [tuple(r) for r in rows] == [(team["ann"], "New lead: Heard Ltd", "a new MQL")]
