"""An SLA number and the leads list it links to agree, on SQLite and PostgreSQL: a lead reassigned
between two reps, one rejected late (back in marketing's nurture queue), one taken away for the SLA,
counted for each rep by the SLA report, Team and the manager's home, and listed by the filter the
number links to, as the manager sees it and as an admin does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import scope_of, visible
from leadloop.auth.handlers import create_user, principal_for_user
from leadloop.home.queries import manager_home
from leadloop.leads.queries import LeadFilter, list_leads
from leadloop.routing import views
from leadloop.routing.handlers import accept, log_call, reject, route_lead, set_manager
from leadloop.routing.report import sla_report
from leadloop.store.db import Database
from leadloop.store.tables import Lead, User
from tests.fixtures.routing import ALL_WEEK, activate_rules, add_mql

MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
RULES = """\
name: two reps
version: 1
fallback: {queue: Sales inbox}
pools:
  reps: {mode: round_robin, members: [{user: ann@x.io}, {user: bob@x.io}]}
rules:
  - {name: Everyone, assign: {pool: reps}}
sla:
  - {name: Hot, first_touch_minutes: 5, remind_at: 3, escalate_at: 5, reassign_at: 10}
reject_reasons: [not_a_fit, no_budget]
"""


@pytest.fixture
def story(db: Database) -> dict[str, int]:
    """Ann and Bob under Max. Five leads, Ann's and Bob's clocks in turn:
    taken: Ann let it lapse, the SLA gave it to Bob, who never touched it either;
    met: Bob accepted in time; rejected: Ann rejected it late (it waits in nurture now);
    moved: routed to Bob, reassigned to Ann, who accepted late; called: Ann called in time."""
    with db.write() as s:
        ids = {
            name: create_user(
                s,
                email=f"{name}@x.io",
                name=name.title(),
                role="manager" if name == "max" else "rep",
                password=None,
                now=MONDAY,
            )
            for name in ("ann", "bob", "max")
        }
        for rep in ("ann", "bob"):
            s.get_one(User, ids[rep]).working_hours = ALL_WEEK
            set_manager(s, ids[rep], ids["max"])
        activate_rules(s, RULES, now=MONDAY)
        ann, bob = frozenset({ids["ann"]}), frozenset({ids["bob"]})
        leads = {
            name: add_mql(s, now=MONDAY, name=f"{name} Co", grade="A")
            for name in ("taken", "met", "rejected", "moved", "called")
        }
        for name, not_to in (
            ("taken", bob),
            ("met", ann),
            ("rejected", bob),
            ("moved", ann),
            ("called", bob),
        ):
            route_lead(s, leads[name], now=MONDAY, exclude=not_to)
        route_lead(s, leads["taken"], now=MONDAY + timedelta(minutes=10), reason="sla_reassign", exclude=ann)
        route_lead(s, leads["moved"], now=MONDAY + timedelta(minutes=1), reason="manual", exclude=bob)
        a, b = s.get_one(User, ids["ann"]), s.get_one(User, ids["bob"])
        accept(s, leads["met"], b, now=MONDAY + timedelta(minutes=2))
        reject(s, leads["rejected"], a, "no_budget", now=MONDAY + timedelta(minutes=9))
        accept(s, leads["moved"], a, now=MONDAY + timedelta(minutes=20))
        log_call(s, leads["called"], a, now=MONDAY + timedelta(minutes=3))
        assert s.get_one(Lead, leads["rejected"]).owner_user_id is None  # marketing's again
        assert s.get_one(Lead, leads["taken"]).owner_user_id == ids["bob"]
    return {**ids, **leads}


def test_each_reps_sla_numbers_are_the_leads_their_links_list(db: Database, story: dict[str, int]) -> None:
    later = MONDAY + timedelta(days=2)
    with db.read() as s:
        boss = principal_for_user(s, story["max"])
        assert boss is not None
        manager = scope_of(s, boss)
        for scope in (manager, EVERYTHING):
            users = None if scope.everything else scope.users
            report = {
                r.group: r for r in sla_report(s, since=later - timedelta(days=7), now=later, users=users)
            }
            team = {r.name: r for r in views.team(s, now=later, users=users)}
            home = manager_home(s, scope, now=later)

            def listed(scope: Scope, **f: object) -> set[int]:
                page = list_leads(s, LeadFilter(per_page=200, **f), now=later, scope=scope)  # type: ignore[arg-type]
                assert page.total == len(page.rows)
                return {r.id for r in page.rows}

            ann, bob = report["Ann"], report["Bob"]
            assert (ann.assigned, ann.within_sla, ann.missed, ann.taken_for_sla) == (3, 1, 2, 1)
            assert (bob.assigned, bob.within_sla, bob.missed, bob.taken_for_sla) == (2, 1, 1, 0)
            assert listed(scope, rep=story["ann"], days=7, sla="breached") == {
                story["rejected"],
                story["moved"],
            }
            assert listed(scope, rep=story["bob"], days=7, sla="breached") == {story["taken"]}
            for name, row in report.items():
                uid = story[name.lower()]
                assert row.filters == f"rep={uid}&days=7"
                for want, n in (("breached", row.missed), ("met", row.within_sla), ("waiting", row.running)):
                    assert len(listed(scope, rep=uid, days=7, sla=want)) == n, (name, want)
                assert len(listed(scope, rep=uid, days=7)) == row.assigned
                t = team[name]
                assert len(listed(scope, rep=uid, sla="breached_week")) == t.breached
                assert len(listed(scope, rep=uid, sla="overdue")) == t.overdue
                assert len(listed(scope, rep=uid, sla="running")) == t.waiting
                (h,) = [r for r in home.reps if r.user_id == uid]
                assert (h.breached_week, h.overdue, h.waiting) == (t.breached, t.overdue, t.waiting)
            assert home.breached_week == len(listed(scope, sla="breached_week")) == 3
            # The lead Ann rejected late is Marketing's now, and still opens from Max's list.
            assert visible(s, scope, Lead, story["rejected"])
        assert not visible(s, Scope(users=frozenset({story["bob"]})), Lead, story["rejected"])
