"""SLA you can trust, on SQLite and PostgreSQL: an accepted or rejected lead's clock is stopped in
every view (inbox, lead, team, report, leads-list filter), and one sweep that escalates 158
breached leads to one manager sends that manager one digest e-mail per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop.auth.handlers import create_user
from leadloop.bootstrap import timer_handlers
from leadloop.core.clock import FrozenClock
from leadloop.jobs.timers import Due
from leadloop.jobs.worker import Worker
from leadloop.leads.queries import LeadFilter, list_leads
from leadloop.routing import views
from leadloop.routing.clock import Clock, lead_clock
from leadloop.routing.digest import DIGEST
from leadloop.routing.handlers import accept, reject, route_lead, set_manager, sla_digest
from leadloop.routing.report import sla_report
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Lead, Outbox, RoutingDecision, Timer, User
from tests.fixtures.routing import ALL_WEEK, activate_rules, add_mql

MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
RULES = """\
name: one rep
version: 1
fallback: {queue: Sales inbox}
rules:
  - name: Everyone
    assign: {user: ann@x.io}
sla:
  - {name: Hot, first_touch_minutes: 5, remind_at: 3, escalate_at: 5, reassign_at: 600}
reject_reasons: [not_a_fit, no_budget]
"""


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    with db.write() as s:
        ids = {
            name: create_user(
                s,
                email=f"{name}@x.io",
                name=full,
                role="manager" if name == "max" else "rep",
                password=None,
                now=MONDAY,
            )
            for name, full in (("ann", "Ann Lee"), ("max", "Max Boss"))
        }
        ann = s.get(User, ids["ann"])
        assert ann is not None
        ann.working_hours = ALL_WEEK
        set_manager(s, ids["ann"], ids["max"])
        activate_rules(s, RULES, now=MONDAY)
    return ids


def _routed(db: Database, n: int) -> list[int]:
    ids = []
    with db.write() as s:
        for i in range(n):
            lead_id = add_mql(s, now=MONDAY, name=f"Acct {i}", name_key=f"acct {i}", grade="A")
            route_lead(s, lead_id, now=MONDAY)
            ids.append(lead_id)
    return ids


def test_an_accepted_or_rejected_lead_is_never_overdue_in_any_view(
    db: Database, people: dict[str, int]
) -> None:
    accepted, rejected, waiting = _routed(db, 3)
    with db.write() as s:
        ann = s.get(User, people["ann"])
        assert ann is not None
        accept(s, accepted, ann, now=MONDAY + timedelta(minutes=2))
        reject(s, rejected, ann, "no_budget", now=MONDAY + timedelta(minutes=9))  # late: breached
    later = MONDAY + timedelta(days=2)
    with db.read() as s:
        clocks = {lid: lead_clock(s.get_one(Lead, lid), now=later) for lid in (accepted, rejected, waiting)}
        assert clocks[accepted].state is Clock.MET and clocks[accepted].text == "met in 2 min"
        assert clocks[rejected].state is Clock.BREACHED and clocks[rejected].text == "breached by 4 min"
        assert clocks[waiting].overdue and clocks[waiting].text == "overdue by 47 h 55 min"
        assert not any(c.overdue for c in (clocks[accepted], clocks[rejected]))

        inbox = {r.id: r for r in views.inbox(s, people["ann"], now=later)}
        assert set(inbox) == {accepted, waiting}  # the rejected lead went back to marketing
        assert not inbox[accepted].breached and inbox[accepted].clock.state is Clock.MET
        assert inbox[waiting].breached and inbox[waiting].clock.overdue

        (ann_row,) = [r for r in views.team(s, now=later) if r.user_id == people["ann"]]
        assert (ann_row.open_leads, ann_row.waiting, ann_row.overdue, ann_row.breached) == (2, 1, 1, 2)

        (row,) = sla_report(s, since=later - timedelta(days=7), now=later, by="rep")
        assert (row.group, row.assigned, row.within_sla, row.missed) == ("Ann Lee", 3, 1, 2)
        assert row.filters == f"rep={people['ann']}&days=7"

        def listed(sla: str) -> set[int]:
            page = list_leads(s, LeadFilter(sla=sla, rep=people["ann"]), now=later)
            return {r.id for r in page.rows}

        assert listed("breached") == {rejected, waiting}
        assert listed("overdue") == {waiting}
        assert listed("met") == {accepted}
        assert listed("running") == {waiting}
        assert listed("breached_week") == {rejected, waiting}
        assert list_leads(s, LeadFilter(sla="breached_week"), now=later + timedelta(days=8)).total == 0


def test_158_breaches_for_one_manager_are_one_digest_e_mail_per_interval(
    db: Database, people: dict[str, int]
) -> None:
    leads = _routed(db, 158)
    clock = FrozenClock(MONDAY + timedelta(minutes=5, seconds=1))
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=0, sla_digest_minutes=30)))
    worker.run_once()
    worker.run_once()  # a second sweep changes nothing
    with db.read() as s:
        mail = s.scalars(sa.select(Outbox).where(Outbox.channel == "email")).all()
        to_max = [m for m in mail if m.payload["to"] == "max@x.io"]
        assert to_max == []  # nothing yet: the digest waits for the end of its window
        (digest_timer,) = s.scalars(sa.select(Timer).where(Timer.kind == DIGEST)).all()
        assert digest_timer.due_at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
        escalated = s.scalar(sa.select(sa.func.count()).where(RoutingDecision.reason == "sla_escalated"))
        assert escalated == 158
    clock.advance(minutes=25)
    worker.run_once()
    worker.run_once()
    with db.read() as s:
        to_max = [m for m in s.scalars(sa.select(Outbox)) if m.payload.get("to") == "max@x.io"]
    assert len(to_max) == 1
    body = to_max[0].payload["body"]
    assert to_max[0].payload["subject"] == "SLA escalations: 158 leads waiting for a first touch"
    assert all(f"/leads/{lead_id}\n" in body + "\n" for lead_id in leads)
    with db.write() as s:  # the digest timer run again (a crash before it was marked done): no second e-mail
        due = Due(digest_timer.id, DIGEST, digest_timer.subject, digest_timer.due_at, digest_timer.payload)
        sla_digest(s, due, clock(), every=timedelta(minutes=30))
    with db.read() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Outbox).where(Outbox.key.like("sla-digest:%")))
            == 1
        )
