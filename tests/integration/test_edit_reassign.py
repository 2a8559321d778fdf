"""Edit and reassign on SQLite and PostgreSQL: a manual edit is recorded with who, when and old ->
new, survives a later import (the pinned field keeps the typed value; the others still update),
and a second editor working from the same version is refused; a manager reassigns three leads with
a reason, which writes the stage history, the routing audit, a new SLA clock, the notification
and the audit log; an owner out of office, inactive or outside the manager's teams is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop.access.model import EVERYTHING
from leadloop.access.repository import scope_of
from leadloop.auth.handlers import create_user
from leadloop.auth.model import Principal, Role
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict, InvalidInput, PermissionDenied
from leadloop.edits.handlers import edit_account, edit_person, history
from leadloop.edits.model import EditedMeanwhile, EditRefused
from leadloop.identity.merge import merge_people
from leadloop.jobs.timers import pending
from leadloop.routing.handlers import add_away, route_lead, set_manager
from leadloop.routing.reassign import reassign
from leadloop.store.db import Database
from leadloop.store.tables import (
    Account,
    AuditEvent,
    Lead,
    LeadStageChange,
    Outbox,
    Person,
    Provenance,
    RecordEdit,
    RoutingDecision,
    Timer,
    User,
)
from tests.fixtures.capture import capture_accounts, capture_people
from tests.fixtures.routing import ALL_WEEK, activate_rules, add_mql

RULES = """\
name: team
version: 1
fallback: {queue: Sales inbox}
rules:
  - name: everyone to ann
    when: {}
    assign: {user: ann@x.io}
sla:
  - {name: Hot, when: {}, first_touch_minutes: 30, remind_at: 20, escalate_at: 45, reassign_at: 120}
"""


def _principal(db: Database, email: str) -> Principal:
    with db.read() as s:
        u = s.scalars(sa.select(User).where(User.email == email)).one()
        return Principal(u.id, u.email, u.name, Role(u.role), "session")


@pytest.fixture
def staff(db: Database, clock: FrozenClock) -> dict[str, int]:
    ids: dict[str, int] = {}
    with db.write() as s:
        for name, role in (
            ("ann", "rep"),
            ("bob", "rep"),
            ("max", "manager"),
            ("eve", "rep"),
            ("root", "admin"),
        ):
            ids[name] = create_user(
                s, email=f"{name}@x.io", name=name.title(), role=role, password=None, now=clock()
            )
            s.get_one(User, ids[name]).working_hours = ALL_WEEK
        set_manager(s, ids["ann"], ids["max"])
        set_manager(s, ids["bob"], ids["max"])
        activate_rules(s, RULES, now=clock())
    return ids


def test_an_edit_is_recorded_and_survives_a_later_import(db: Database, clock: FrozenClock) -> None:
    [outcome] = capture_people(
        db, clock, {"email": "greta@polar.se", "first_name": "Greta", "title": "Engineer", "city": "Malmo"}
    )
    pid = outcome.id
    assert pid is not None
    with db.write() as s:
        create_user(s, email="mia@x.io", name="Mia", role="marketing", password=None, now=clock())
    mia = _principal(db, "mia@x.io")
    with db.read() as s:
        version = s.get_one(Person, pid).updated_at
        fit_before = s.get_one(Person, pid).fit_score or 0
    clock.advance(minutes=5)
    with db.write() as s:
        done = edit_person(
            s,
            pid,
            {"title": "VP Engineering", "seniority": "VP", "phone": "040 123 45 67", "country": "Sweden"},
            expected_updated_at=version,
            who=mia,
            scope=EVERYTHING,
            now=clock(),
        )
    assert done.changed["title"] == ("Engineer", "VP Engineering")
    assert done.changed["phone"] == (None, "+46401234567")  # read with the country given beside it
    with db.read() as s:
        [edit] = s.scalars(sa.select(RecordEdit).where(RecordEdit.entity_id == pid)).all()
        assert (edit.entity, edit.by_user_id, edit.at) == ("person", mia.user_id, clock())
        assert edit.changes["country"] == [None, "SE"]
        pins = {p.field: p for p in s.scalars(sa.select(Provenance).where(Provenance.entity == "person"))}
        assert set(pins) == {"title", "seniority", "phone", "country"} and pins["title"].source == "mia@x.io"
        assert (
            s.get_one(Person, pid).fit_score or 0
        ) >= fit_before + 30  # scored again: a decision maker now
        assert [e.by for e in history(s, "person", pid)] == ["mia@x.io"]
    # A later import carries the old title and a new city: the manual title stays, the city updates.
    clock.advance(hours=1)
    capture_people(
        db,
        clock,
        {"email": "greta@polar.se", "title": "Engineer", "city": "Lund"},
        source="import",
        kind=None,
    )
    with db.read() as s:
        p = s.get_one(Person, pid)
        assert (p.title, p.phone, p.country, p.city) == ("VP Engineering", "+46401234567", "SE", "Lund")


def test_a_value_set_by_hand_survives_a_merge_and_the_import_after_it(
    db: Database, clock: FrozenClock
) -> None:
    a, b = capture_people(
        db,
        clock,
        {"email": "greta@polar.se", "first_name": "Greta", "last_name": "Lindqvist", "title": "Engineer"},
        {
            "email": "g.lindqvist@polar.se",
            "first_name": "Greta",
            "last_name": "Lindqvist",
            "title": "Engineer",
        },
        kind=None,
    )
    assert a.id is not None and b.id is not None
    with db.write() as s:
        create_user(s, email="mia@x.io", name="Mia", role="marketing", password=None, now=clock())
        version = s.get_one(Person, a.id).updated_at
    with db.write() as s:
        edit_person(
            s,
            a.id,
            {"title": "VP Engineering"},
            expected_updated_at=version,
            who=_principal(db, "mia@x.io"),
            scope=EVERYTHING,
            now=clock(),
        )
    clock.advance(minutes=1)
    with db.write() as s:
        merge_people(s, b.id, a.id, now=clock())  # the edited record is the one merged away
    assert _title(db, b.id) == "VP Engineering"
    clock.advance(minutes=1)
    capture_people(
        db, clock, {"email": "g.lindqvist@polar.se", "title": "Engineer"}, source="import", kind=None
    )
    assert _title(db, b.id) == "VP Engineering"


def _title(db: Database, pid: int) -> str | None:
    with db.read() as s:
        return s.get_one(Person, pid).title


def test_an_account_edit_survives_an_account_import(
    db: Database, clock: FrozenClock, staff: dict[str, int]
) -> None:
    ids = capture_accounts(db, clock, {"external_id": "A1", "name": "Polar Signal", "industry": "Software"})
    aid = ids["A1"]
    root = _principal(db, "root@x.io")
    with db.read() as s:
        version = s.get_one(Account, aid).updated_at
    with db.write() as s:
        edit_account(
            s,
            aid,
            {"name": "Polar Signal AB", "employees": "1,200", "industry": "Observability"},
            expected_updated_at=version,
            who=root,
            scope=EVERYTHING,
            now=clock(),
        )
    clock.advance(minutes=1)
    capture_accounts(
        db, clock, {"external_id": "A1", "name": "Polar Signal", "industry": "Software", "city": "Malmö"}
    )
    with db.read() as s:
        a = s.get_one(Account, aid)
        assert (a.name, a.industry, a.employees, a.city) == (
            "Polar Signal AB",
            "Observability",
            1200,
            "Malmö",
        )


def test_a_second_editor_from_the_same_version_is_refused(db: Database, clock: FrozenClock) -> None:
    [outcome] = capture_people(db, clock, {"email": "li@wei.cn", "first_name": "Li"})
    pid = outcome.id
    assert pid is not None
    with db.write() as s:
        for name in ("one", "two"):
            create_user(s, email=f"{name}@x.io", name=name, role="marketing", password=None, now=clock())
    with db.read() as s:
        version = s.get_one(Person, pid).updated_at
    clock.advance(minutes=1)
    with db.write() as s:
        edit_person(
            s,
            pid,
            {"last_name": "Wei"},
            expected_updated_at=version,
            who=_principal(db, "one@x.io"),
            scope=EVERYTHING,
            now=clock(),
        )
    clock.advance(minutes=1)
    with pytest.raises(EditedMeanwhile, match=r"changed by one@x\.io") as refused, db.write() as s:
        edit_person(
            s,
            pid,
            {"last_name": "Li"},
            expected_updated_at=version,
            who=_principal(db, "two@x.io"),
            scope=EVERYTHING,
            now=clock(),
        )
    assert refused.value.status_code == 409
    with db.read() as s:
        assert s.get_one(Person, pid).last_name == "Wei"
        assert s.scalar(sa.select(sa.func.count()).select_from(RecordEdit)) == 1


def test_a_bad_email_or_a_taken_one_saves_nothing(db: Database, clock: FrozenClock) -> None:
    outcomes = capture_people(db, clock, {"email": "a@acme.com"}, {"email": "b@acme.com"})
    pid = outcomes[0].id
    assert pid is not None
    with db.write() as s:
        create_user(s, email="mia@x.io", name="Mia", role="marketing", password=None, now=clock())
    mia = _principal(db, "mia@x.io")
    with db.read() as s:
        version = s.get_one(Person, pid).updated_at
    with (
        pytest.raises(EditRefused, match="email: e-mail 'not-an-email' is not valid") as bad,
        db.write() as s,
    ):
        edit_person(
            s,
            pid,
            {"email": "not-an-email", "first_name": "Ann"},
            expected_updated_at=version,
            who=mia,
            scope=EVERYTHING,
            now=clock(),
        )
    assert set(bad.value.errors) == {"email"}
    with pytest.raises(Conflict, match=r"person #\d+ already has b@acme\.com"), db.write() as s:
        edit_person(
            s,
            pid,
            {"email": "B@acme.com"},
            expected_updated_at=version,
            who=mia,
            scope=EVERYTHING,
            now=clock(),
        )
    with db.read() as s:
        assert s.get_one(Person, pid).first_name is None


def _routed_leads(db: Database, clock: FrozenClock, n: int) -> list[int]:
    ids = []
    with db.write() as s:
        for i in range(n):
            lead_id = add_mql(s, now=clock(), name=f"Acme {i}", name_key=f"acme {i}", grade="A")
            route_lead(s, lead_id, now=clock())
            ids.append(lead_id)
    return ids


def test_a_manager_reassigns_three_leads_with_a_reason(
    db: Database, clock: FrozenClock, staff: dict[str, int]
) -> None:
    leads = _routed_leads(db, clock, 3)
    clock.advance(minutes=10)
    max_ = _principal(db, "max@x.io")
    with db.write() as s:
        done = reassign(
            s,
            leads,
            staff["bob"],
            "Ann is at the trade show all week",
            who=max_,
            scope=scope_of(s, max_),
            now=clock(),
        )
    assert done.moved == leads and done.owner == "bob@x.io"
    with db.read() as s:
        for lead_id in leads:
            lead = s.get_one(Lead, lead_id)
            assert lead.owner_user_id == staff["bob"] and lead.assigned_at == clock()
            assert lead.sla_due_at == clock() + timedelta(minutes=30)  # bob's own clock starts now
            [moved] = s.scalars(
                sa.select(LeadStageChange).where(
                    LeadStageChange.lead_id == lead_id, LeadStageChange.by_user_id == max_.user_id
                )
            ).all()
            assert moved.trigger == "routed" and "trade show" in (moved.reason or "")
            decision = s.scalars(
                sa.select(RoutingDecision)
                .where(RoutingDecision.lead_id == lead_id)
                .order_by(RoutingDecision.id.desc())
            ).first()
            assert decision is not None and decision.reason == "reassigned"
            assert decision.summary == "reassigned by max@x.io: Ann is at the trade show all week"
            assert pending(s, "sla_due", f"lead:{lead_id}") == clock() + timedelta(minutes=30)
            timer = s.scalars(
                sa.select(Timer).where(Timer.kind == "sla_due", Timer.subject == f"lead:{lead_id}")
            ).one()
            assert timer.payload["owner_user_id"] == staff["bob"] and timer.done_at is None
        mails = s.scalars(sa.select(Outbox.payload).where(Outbox.channel == "email")).all()
        assert sum(1 for p in mails if p.get("to") == "bob@x.io") == 3
        [event] = s.scalars(sa.select(AuditEvent).where(AuditEvent.kind == "leads.reassigned")).all()
        assert event.actor_user_id == max_.user_id and event.subject == "bob@x.io"
        assert event.detail == {
            "leads": leads,
            "already_theirs": [],
            "reason": "Ann is at the trade show all week",
        }


def test_reassigning_to_someone_away_inactive_or_outside_the_teams_is_refused(
    db: Database, clock: FrozenClock, staff: dict[str, int]
) -> None:
    [lead] = _routed_leads(db, clock, 1)
    max_ = _principal(db, "max@x.io")
    with db.write() as s:
        add_away(s, staff["bob"], clock() - timedelta(hours=1), datetime(2026, 11, 9, tzinfo=UTC))
        s.get_one(User, staff["eve"]).manager_id = max_.user_id
    with (
        pytest.raises(InvalidInput, match=r"bob@x\.io is out of office until 2026-11-09 00:00 UTC"),
        db.write() as s,
    ):
        reassign(s, [lead], staff["bob"], "cover", who=max_, scope=scope_of(s, max_), now=clock())
    with db.write() as s:
        s.get_one(User, staff["eve"]).active = False
    with pytest.raises(InvalidInput, match=r"eve@x\.io is inactive"), db.write() as s:
        reassign(s, [lead], staff["eve"], "cover", who=max_, scope=scope_of(s, max_), now=clock())
    with db.write() as s:
        other = create_user(s, email="zed@x.io", name="Zed", role="rep", password=None, now=clock())
    with pytest.raises(InvalidInput, match=r"zed@x\.io is not in your teams"), db.write() as s:
        reassign(s, [lead], other, "cover", who=max_, scope=scope_of(s, max_), now=clock())
    rep = _principal(db, "ann@x.io")
    with pytest.raises(PermissionDenied), db.write() as s:
        reassign(s, [lead], staff["ann"], "mine", who=rep, scope=scope_of(s, rep), now=clock())
    with db.read() as s:
        assert s.get_one(Lead, lead).owner_user_id == staff["ann"]
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0
