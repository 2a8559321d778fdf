"""The workbench on SQLite and PostgreSQL: a touch with an outcome lands in the activity log and
stops the SLA clock through the lifecycle; a task's reminder queues one e-mail and one in-app
notification however often the sweeper runs; contacts and "why now" come from the log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadloop.access.repository import scope_of
from leadloop.auth.handlers import create_user, principal_for_user
from leadloop.auth.model import Principal
from leadloop.bootstrap import timer_handlers
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import InvalidInput, NotFound, PermissionDenied
from leadloop.jobs.timers import Due, pending
from leadloop.jobs.worker import Worker
from leadloop.notifications.handlers import mark_all_read, mark_read
from leadloop.notifications.queries import recent, unread_count
from leadloop.routing.handlers import SLA_TIMERS, route_lead
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Lead, LeadStageChange, Notification, Outbox, Person, Task, User
from leadloop.work import handlers as work
from leadloop.work.queries import lead_work, my_tasks
from tests.fixtures.routing import ALL_WEEK, activate_rules, add_mql

MONDAY = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
RULES = """\
name: one rep
version: 1
fallback: {queue: Sales inbox}
rules:
  - {name: everyone, assign: {user: ann@x.io}}
sla:
  - {name: Hot, first_touch_minutes: 30, remind_at: 20, escalate_at: 30, reassign_at: 120}
reject_reasons: [not_a_fit]
"""


def _who(db: Database, user_id: int) -> Principal:
    with db.read() as s:
        p = principal_for_user(s, user_id)
    assert p is not None
    return p


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    """Ann (a rep) owns a routed MQL of an account with two contacts; Bob is another rep."""
    ids: dict[str, int] = {}
    with db.write() as s:
        for name in ("ann", "bob"):
            ids[name] = create_user(
                s, email=f"{name}@x.io", name=name.title(), role="rep", password=None, now=MONDAY
            )
        for uid in ids.values():
            s.get_one(User, uid).working_hours = ALL_WEEK
        activate_rules(s, RULES, now=MONDAY)
        ids["lead"] = add_mql(s, now=MONDAY, name="Polar Signal AB", grade="A")
        lead = s.get(Lead, ids["lead"])
        assert lead is not None
        for i, (first, title, seniority) in enumerate(
            (("Greta", "VP Engineering", "vp"), ("Olle", "Developer", None), ("Nils", "CFO", "c-level"))
        ):
            p = Person(
                account_id=lead.account_id,
                email=f"{first.lower()}@polar.example",
                first_name=first,
                last_name="Lindqvist",
                title=title,
                seniority=seniority,
                phone="+46 70 123 45 6" + str(i),
                created_at=MONDAY,
                updated_at=MONDAY,
            )
            s.add(p)
            s.flush()
            ids[first.lower()] = p.id
        for i, (pid, kind, minutes) in enumerate(
            (
                (ids["olle"], "page_view", -60),
                (ids["greta"], "webinar_attended", -20),
                (ids["greta"], "demo_request", 0),
            )
        ):
            s.add(
                Activity(
                    dedupe_key=f"t:{i}",
                    person_id=pid,
                    account_id=lead.account_id,
                    type=kind,
                    occurred_at=MONDAY + timedelta(minutes=minutes),
                    recorded_at=MONDAY,
                    product="analytics",
                    source="api",
                    payload={},
                )
            )
        route_lead(s, ids["lead"], now=MONDAY)
        assert s.get(Lead, ids["lead"]).owner_user_id == ids["ann"]  # type: ignore[union-attr]
    return ids


def test_a_touch_with_an_outcome_is_logged_and_stops_the_sla_clock(
    db: Database, world: dict[str, int]
) -> None:
    ann = _who(db, world["ann"])
    at = MONDAY + timedelta(minutes=10)
    with db.read() as s:
        assert pending(s, "sla_due", f"lead:{world['lead']}") is not None
    with db.write() as s:
        done, _ = work.log_touch(
            s,
            world["lead"],
            ann,
            kind="call",
            outcome="voicemail",
            note="Left a message",
            person_id=world["greta"],
            now=at,
        )
    assert done.outcome.value == "voicemail"
    with db.read() as s:
        lead = s.get(Lead, world["lead"])
        assert lead is not None and lead.first_touch_at == at and lead.stage == "mql"
        assert all(pending(s, kind, f"lead:{lead.id}") is None for kind in SLA_TIMERS)
        call = s.scalars(sa.select(Activity).where(Activity.type == "call")).one()
        assert (call.person_id, call.account_id, call.channel, call.product) == (
            world["greta"],
            lead.account_id,
            "phone",
            "analytics",
        )
        assert call.payload == {"by": "ann@x.io", "outcome": "voicemail", "note": "Left a message"}
        triggers = s.scalars(
            sa.select(LeadStageChange.trigger).where(LeadStageChange.lead_id == lead.id)
        ).all()
        assert "touched" in triggers
        # Greta's last three activities now start with the call, its outcome said in words.
        w = lead_work(s, [lead])[lead.id]
        greta = next(c for c in w.contacts if c.id == world["greta"])
        assert [a.type for a in greta.recent] == ["call", "demo_request", "webinar_attended"]
        assert greta.recent[0].outcome == "Voicemail" and greta.recent[0].note == "Left a message"


def test_only_whoever_works_the_lead_may_log_a_touch_and_only_with_its_contacts(
    db: Database, world: dict[str, int]
) -> None:
    bob, ann = _who(db, world["bob"]), _who(db, world["ann"])
    with db.write() as s, pytest.raises(PermissionDenied, match="only the lead's owner"):
        work.log_touch(s, world["lead"], bob, kind="call", outcome="connected", note=None, now=MONDAY)
    with db.write() as s:
        stranger = Person(email="x@elsewhere.example", created_at=MONDAY, updated_at=MONDAY)
        s.add(stranger)
        s.flush()
        stranger_id = stranger.id
    with db.write() as s, pytest.raises(InvalidInput, match="not a contact of this lead's account"):
        work.log_touch(
            s,
            world["lead"],
            ann,
            kind="call",
            outcome="connected",
            note=None,
            person_id=stranger_id,
            now=MONDAY,
        )
    with db.write() as s, pytest.raises(InvalidInput, match="choose an outcome"):
        work.log_touch(s, world["lead"], ann, kind="call", outcome="busy", note=None, now=MONDAY)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.type == "call")) == 0
        assert s.get(Lead, world["lead"]).first_touch_at is None  # type: ignore[union-attr]


def test_contacts_and_why_now_come_from_the_log(db: Database, world: dict[str, int]) -> None:
    with db.read() as s:
        lead = s.get(Lead, world["lead"])
        assert lead is not None
        w = lead_work(s, [lead])[lead.id]
    assert [c.name for c in w.contacts] == ["Greta Lindqvist", "Olle Lindqvist"]  # latest activity first
    assert [c.name for c in w.others] == ["Nils Lindqvist"]  # no activity: behind "more"
    greta = w.contacts[0]
    assert (greta.title, greta.role, greta.tel, greta.email) == (
        "VP Engineering",
        "Decision maker",
        "+46701234560",
        "greta@polar.example",
    )
    assert w.why is not None and (w.why.type, w.why.reason, w.why.person) == (
        "demo_request",
        "hand_raise",
        "Greta Lindqvist",
    )
    # Its words are the move into MQL's, not a later reassignment's ("sla_reassign: rule → e-mail").
    with db.write() as s:
        for at, before, trigger, reason in (
            (MONDAY, "inquiry", "reached_mql", "asked for a demo"),
            (MONDAY + timedelta(hours=1), "mql", "routed", "sla_reassign: rule EMEA → rep1@x.example"),
        ):
            s.add(
                LeadStageChange(
                    lead_id=world["lead"],
                    at=at,
                    recorded_at=at,
                    from_stage=before,
                    to_stage="mql",
                    trigger=trigger,
                    reason=reason,
                )
            )
    with db.read() as s:
        why = lead_work(s, [s.get_one(Lead, world["lead"])])[world["lead"]].why
    assert why is not None and why.explanation == "asked for a demo"


def test_a_reminder_queues_one_email_and_one_notification_however_often_the_sweeper_runs(
    db: Database, world: dict[str, int]
) -> None:
    ann = _who(db, world["ann"])
    due = MONDAY + timedelta(days=1)
    with db.write() as s:
        task = work.add_task(
            s,
            scope_of(s, ann),
            ann,
            title="Call Greta back",
            due_at=due,
            about="lead",
            record_id=world["lead"],
            now=MONDAY,
        )
        task_id = task.id
    clock = FrozenClock(MONDAY)
    worker = Worker(db, clock, timer_handlers(Settings(retrain_every_days=0)))
    clock.advance(hours=23, minutes=40)  # 20 minutes before it is due: not yet (15 minutes ahead)
    worker.run_once()  # the lead's SLA timers, long due, run; the task's does not
    with db.read() as s:
        assert pending(s, work.TASK_DUE, f"task:{task_id}") == due - timedelta(minutes=15)
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "task_due")
            )
            == 0
        )
    clock.advance(minutes=6)
    assert worker.run_once() == 1
    assert worker.run_once() == 0  # the second sweep finds nothing to do
    with db.write() as s:  # even a handler run again (a claim gone stale mid-way) adds nothing
        task_row = s.get(Task, task_id)
        assert task_row is not None and task_row.reminded_at == clock()
        work.task_due(s, Due(0, work.TASK_DUE, f"task:{task_id}", due, {"due_at": due.isoformat()}), clock())
    with db.read() as s:
        mails = s.scalars(
            sa.select(Outbox).where(Outbox.channel == "email", Outbox.key.like("task-due:%"))
        ).all()
        assert len(mails) == 1 and mails[0].payload["to"] == "ann@x.io"
        assert (
            mails[0].payload["subject"].endswith("Call Greta back")
            and mails[0].payload["link"] == f"/leads/{world['lead']}"
        )
        notes = s.scalars(sa.select(Notification).where(Notification.kind == "task_due")).all()
        assert [(n.user_id, n.kind, n.link) for n in notes] == [
            (world["ann"], "task_due", f"/leads/{world['lead']}")
        ]
        # Ann also heard of the lead when it came, and of its lapsed SLA clock: three unread.
        assert unread_count(s, world["ann"]) == 3 and unread_count(s, world["bob"]) == 0
    with db.write() as s:
        assert not mark_read(s, world["bob"], notes[0].id, now=clock())  # not Bob's
        assert mark_read(s, world["ann"], notes[0].id, now=clock())
        assert mark_all_read(s, world["ann"], now=clock()) == 2
    with db.read() as s:
        assert unread_count(s, world["ann"]) == 0 and recent(s, world["ann"])[0].read_at == clock()


def test_a_task_done_before_it_is_due_sends_nothing_and_reopening_arms_it_again(
    db: Database, world: dict[str, int]
) -> None:
    ann, bob = _who(db, world["ann"]), _who(db, world["bob"])
    due = MONDAY + timedelta(hours=3)
    with db.write() as s:
        task_id = work.add_task(
            s,
            scope_of(s, ann),
            ann,
            title="Send pricing",
            due_at=due,
            about="person",
            record_id=world["greta"],
            now=MONDAY,
        ).id
    with db.write() as s, pytest.raises(NotFound, match="no task"):
        work.complete_task(s, bob, task_id, now=MONDAY)
    with db.write() as s:
        work.complete_task(s, ann, task_id, now=MONDAY)
        assert pending(s, work.TASK_DUE, f"task:{task_id}") is None
        assert my_tasks(s, world["ann"], now=MONDAY).done[0].title == "Send pricing"
    with db.write() as s:
        work.reopen_task(s, ann, task_id, now=MONDAY + timedelta(hours=1))
        assert pending(s, work.TASK_DUE, f"task:{task_id}") == due - timedelta(minutes=15)
        mine = my_tasks(s, world["ann"], now=MONDAY + timedelta(hours=1))
        assert [t.title for t in mine.today] == ["Send pricing"] and mine.today[0].about == "Greta Lindqvist"
    # A rep sets tasks for themselves only; a record they cannot see is not found.
    with db.write() as s, pytest.raises(PermissionDenied, match="for yourself"):
        work.add_task(
            s,
            scope_of(s, ann),
            ann,
            title="x",
            due_at=due,
            about="lead",
            record_id=world["lead"],
            owner_user_id=world["bob"],
            now=MONDAY,
        )
    with db.write() as s, pytest.raises(NotFound, match="no lead"):
        work.add_task(
            s, scope_of(s, bob), bob, title="x", due_at=due, about="lead", record_id=world["lead"], now=MONDAY
        )


def test_notes_on_lead_person_and_account_are_bounded_and_for_those_who_see_the_record(
    db: Database, world: dict[str, int]
) -> None:
    ann, bob = _who(db, world["ann"]), _who(db, world["bob"])
    with db.read() as s:
        account_id = s.get(Lead, world["lead"]).account_id  # type: ignore[union-attr]
    with db.write() as s:
        for about, rid in (("lead", world["lead"]), ("person", world["greta"]), ("account", account_id)):
            note = work.add_note(s, scope_of(s, ann), ann, about, rid, f"  about the {about}  ", now=MONDAY)
            assert note.body == f"about the {about}" and note.author_user_id == world["ann"]
    with db.write() as s, pytest.raises(InvalidInput, match="shorten it to 2000"):
        work.add_note(s, scope_of(s, ann), ann, "lead", world["lead"], "x" * 2001, now=MONDAY)
    with db.write() as s, pytest.raises(NotFound):
        work.add_note(s, scope_of(s, bob), bob, "person", world["greta"], "hello", now=MONDAY)
