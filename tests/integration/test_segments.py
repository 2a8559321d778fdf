"""Segments on SQLite and PostgreSQL: saving builds at once; a capture, an edit, a merge or a lead's
move changes membership in its own transaction; time passing is caught by the refresh timer;
every entry and exit is recorded and announced; lists filter by segment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.access.model import EVERYTHING
from leadloop.auth.handlers import create_user
from leadloop.auth.model import Principal, Role
from leadloop.bootstrap import timer_handlers
from leadloop.capture import model as m
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict
from leadloop.core.events import SegmentEntered, SegmentLeft
from leadloop.core.reactions import publish
from leadloop.edits.handlers import edit_person
from leadloop.identity.merge import merge_people
from leadloop.jobs.timers import pending
from leadloop.jobs.worker import Worker
from leadloop.leads.queries import LeadFilter, list_leads
from leadloop.lifecycle.handlers import Move, move_many
from leadloop.lifecycle.model import Trigger
from leadloop.lists.queries import PeopleFilter, list_people
from leadloop.segments import handlers as seg
from leadloop.segments.parse import parse_definition
from leadloop.segments.queries import changed_people, history, members
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import Person, SegmentChange, SegmentMember
from tests.fixtures.capture import capture_people
from tests.fixtures.routing import add_mql

GERMANS = {"match": {"field": "person.country", "op": "=", "value": "DE"}}
PRICING = {"match": {"did": "pricing_page_view", "at_least": 2, "within_days": 14}}


def _create(db: Database, clock: FrozenClock, name: str, doc: dict[str, Any]) -> seg.Saved:
    with db.write() as s:
        return seg.create_segment(s, name=name, definition=parse_definition(doc), now=clock())


def _members(db: Database, segment_id: int) -> set[int]:
    with db.read() as s:
        return set(
            s.scalars(sa.select(SegmentMember.person_id).where(SegmentMember.segment_id == segment_id))
        )


def _people(db: Database, clock: FrozenClock, *rows: dict[str, Any], kind: str | None = None) -> list[int]:
    return [o.id for o in capture_people(db, clock, *rows, kind=kind) if o.id is not None]


def _changes(db: Database, segment_id: int) -> list[tuple[int, bool, str]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(SegmentChange.person_id, SegmentChange.entered, SegmentChange.cause)
            .where(SegmentChange.segment_id == segment_id)
            .order_by(SegmentChange.id)
        )
        return [(int(p), bool(e), str(c)) for p, e, c in rows]


def test_saving_builds_at_once_records_the_entries_and_announces_them(
    db: Database, clock: FrozenClock
) -> None:
    anna, bert, _ = _people(
        db,
        clock,
        {"email": "anna@acme.de", "country": "DE"},
        {"email": "bert@bmw.de", "country": "de"},
        {"email": "cleo@orange.fr", "country": "FR"},
    )
    saved = _create(db, clock, "Germans", GERMANS)
    assert _members(db, saved.segment_id) == {anna, bert}
    assert saved.built.size == 2 and saved.built.entered == 2 and saved.built.left == 0
    entered = [e for e in saved.events if isinstance(e, SegmentEntered)]
    assert len(entered) == 1 and entered[0].count == 2 and entered[0].cause == "rebuild"
    with db.read() as s:
        assert set(s.scalars(changed_people(entered[0]))) == {anna, bert}
        page, total = members(s, saved.segment_id, scope=EVERYTHING)
    assert total == 2 and {mb.person_id for mb in page} == {anna, bert}
    assert _changes(db, saved.segment_id) == sorted([(anna, True, "rebuild"), (bert, True, "rebuild")])
    # A rebuild with nothing changed records nothing and announces nothing.
    with db.write() as s:
        again = seg.rebuild_segment(s, saved.segment_id, now=clock())
    assert (again.built.entered, again.built.left, again.events) == (0, 0, [])


def test_a_capture_without_an_activity_joins_in_its_own_transaction(db: Database, clock: FrozenClock) -> None:
    saved = _create(db, clock, "Germans", GERMANS)
    (dora,) = _people(db, clock, {"email": "dora@sap.de", "country": "DE"})  # no activity with it
    assert _members(db, saved.segment_id) == {dora}
    # The same person re-sent with another country leaves, recorded as an event's doing.
    _people(db, clock, {"email": "dora@sap.de", "country": "AT"})
    assert _members(db, saved.segment_id) == set()
    assert _changes(db, saved.segment_id) == [(dora, True, "event"), (dora, False, "event")]
    with db.read() as s:
        assert [c.entered for c in history(s, saved.segment_id)] == [False, True]


def test_behaviour_in_a_window_enters_on_the_activity_and_leaves_when_time_passes(
    db: Database, clock: FrozenClock
) -> None:
    saved = _create(db, clock, "Pricing twice", PRICING)
    (eva,) = _people(db, clock, {"email": "eva@acme.de"}, kind="pricing_page_view")
    assert _members(db, saved.segment_id) == set()  # once is not twice
    clock.advance(days=3)
    with db.write() as s:
        act = m.parse_activity({"email": "eva@acme.de", "type": "pricing_page_view"}, now=clock())
        published = h.ingest_activities(s, [act], now=clock(), source="api").events
    assert _members(db, saved.segment_id) == {eva}
    assert any(isinstance(e, SegmentEntered) and e.segment_id == saved.segment_id for e in published)
    # Nothing happens for 12 days: the first visit falls out of the window; the refresh timer,
    # armed when the segment was saved, sees it.
    with db.read() as s:
        due = pending(s, seg.SEGMENT_REFRESH, seg.subject(saved.segment_id))
    assert due is not None and due <= clock() + timedelta(minutes=15)
    clock.advance(days=12)
    Worker(db, clock, timer_handlers(Settings())).run_once()
    assert _members(db, saved.segment_id) == set()
    assert _changes(db, saved.segment_id)[-1] == (eva, False, "refresh")
    with db.read() as s:
        assert pending(s, seg.SEGMENT_REFRESH, seg.subject(saved.segment_id)) == clock() + timedelta(
            minutes=15
        )


def test_an_edit_by_hand_and_a_merge_change_membership(db: Database, clock: FrozenClock) -> None:
    saved = _create(db, clock, "Germans", GERMANS)
    fritz, franz = _people(
        db, clock, {"email": "fritz@acme.de", "country": "DE"}, {"email": "franz@bmw.de", "country": "DE"}
    )
    assert _members(db, saved.segment_id) == {fritz, franz}
    with db.write() as s:
        uid = create_user(s, email="mia@x.io", name="Mia", role="marketing", password=None, now=clock())
    admin = Principal(uid, "mia@x.io", "Mia", Role.MARKETING, "session")
    with db.write() as s:
        stamp = s.get_one(Person, fritz).updated_at
        edit_person(
            s, fritz, {"country": "FR"}, expected_updated_at=stamp, who=admin, scope=EVERYTHING, now=clock()
        )
    assert _members(db, saved.segment_id) == {franz}
    with db.write() as s:
        merge_people(s, fritz, franz, now=clock())  # franz is merged into fritz, who stays French
    assert _members(db, saved.segment_id) == set()
    assert _changes(db, saved.segment_id)[-1] == (franz, False, "event")


def test_a_lead_moving_stage_moves_its_accounts_people(db: Database, clock: FrozenClock) -> None:
    saved = _create(db, clock, "Nurtured", {"match": {"lead": {"stage": ["nurture"]}}})
    with db.write() as s:
        lead_id = add_mql(s, now=clock(), name="Acme", country="DE")
        account_id = s.execute(
            sa.text("SELECT account_id FROM leads WHERE id = :i"), {"i": lead_id}
        ).scalar_one()
    (gina,) = _people(
        db, clock, {"email": "gina@acme.example", "account_external_id": None, "company": "Acme"}
    )
    with db.write() as s:
        s.execute(sa.update(Person).where(Person.id == gina).values(account_id=account_id))
    assert _members(db, saved.segment_id) == set()
    with db.write() as s:
        publish(s, move_many(s, [Move(lead_id, "mql", Trigger.COOLED, clock())], now=clock()), now=clock())
    assert _members(db, saved.segment_id) == {gina}


def test_editing_the_definition_records_who_left_because_of_it_and_archiving_empties_it(
    db: Database, clock: FrozenClock
) -> None:
    hans, ines = _people(
        db, clock, {"email": "hans@a.de", "country": "DE"}, {"email": "ines@b.at", "country": "AT"}
    )
    saved = _create(db, clock, "Germans", GERMANS)
    with db.write() as s:
        edited = seg.update_segment(
            s,
            saved.segment_id,
            name="Austrians",
            definition=parse_definition({"match": {"field": "person.country", "op": "in", "value": ["AT"]}}),
            now=clock(),
        )
    assert _members(db, saved.segment_id) == {ines}
    assert {(e.cause, type(e)) for e in edited.events} == {("edit", SegmentEntered), ("edit", SegmentLeft)}
    with db.read() as s:
        assert [(c.person_id, c.entered, c.revision) for c in history(s, saved.segment_id)][:2] == [
            (hans, False, 2),
            (ines, True, 2),
        ]
    with db.write() as s, pytest.raises(Conflict, match="exists already"):
        seg.create_segment(s, name="austrians", definition=parse_definition(GERMANS), now=clock())
    with db.write() as s:
        seg.archive_segment(s, saved.segment_id, now=clock())
    assert _members(db, saved.segment_id) == set()
    assert _changes(db, saved.segment_id)[-1] == (ines, False, "archive")
    _people(db, clock, {"email": "jan@c.at", "country": "AT"})
    assert _members(db, saved.segment_id) == set()  # an archived segment is no longer kept


def test_lists_filter_by_segment(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        lead_id = add_mql(s, now=clock(), name="Kraft", country="DE")
        other = add_mql(s, now=clock(), name="Orange", country="FR")
        accounts = dict(s.execute(sa.text("SELECT id, account_id FROM leads")).all())
    karl, luc = _people(
        db,
        clock,
        {"email": "karl@kraft.example", "country": "DE"},
        {"email": "luc@orange.example", "country": "FR"},
    )
    with db.write() as s:
        s.execute(sa.update(Person).where(Person.id == karl).values(account_id=accounts[lead_id]))
        s.execute(sa.update(Person).where(Person.id == luc).values(account_id=accounts[other]))
    saved = _create(db, clock, "Germans", GERMANS)
    with db.read() as s:
        people = list_people(s, PeopleFilter(segment=saved.segment_id))
        leads = list_leads(s, LeadFilter(segment=saved.segment_id), now=clock())
    assert [p.id for p in people.rows] == [karl]
    assert [lead.id for lead in leads.rows] == [lead_id]
