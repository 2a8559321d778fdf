"""GDPR on SQLite and PostgreSQL: an export holds everything on a person; an erasure empties them
(and whoever was merged into them) but keeps every activity, anonymised, so the counts add up; and
no door, merge or re-import brings them back."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop import capture as h
from leadloop.auth.handlers import create_user
from leadloop.capture import model as m
from leadloop.capture.importer import run_import
from leadloop.capture.intake import store_lead
from leadloop.capture.results import Refused
from leadloop.consent.decision import Reason
from leadloop.consent.gate import may_send
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict
from leadloop.identity.merge import merge_people, unmerge
from leadloop.privacy.erase import erase_person
from leadloop.privacy.export import export_person
from leadloop.store.db import Database
from leadloop.store.tables import (
    Activity,
    AuditEvent,
    ConsentEvent,
    ErasedKey,
    Lead,
    Merge,
    Note,
    Person,
    PersonKey,
    Task,
)
from tests.conftest import count
from tests.fixtures.capture import capture_people
from tests.fixtures.consent import consenting

ANN = {
    "email": "ann@acme.com",
    "external_id": "SF-1",
    "first_name": "Ann",
    "last_name": "Lee",
    "title": "Head of Data",
    "phone": "+1 415 555 0199",
    "company": "Acme",
    "city": "Oakland",
    "country": "US",
}


def _ann(db: Database, clock: FrozenClock) -> tuple[int, int, int]:
    """Ann, a gmail record of hers merged into her, a visit with her address in its URL, a note and
    a task about her. Returns (Ann, the merged record, the author)."""
    pid = consenting(db, clock, **ANN)
    other = consenting(db, clock, "ann.lee@gmail.com", opt_in=None, first_name="Ann", last_name="Lee")
    acts = [
        m.parse_activity(
            {
                "email": "ann@acme.com",
                "type": "pricing_page_view",
                "url": "https://acme.example/pricing?email=ann@acme.com#plans",
                "visitor_id": "v-ann",
                "payload": {"said": "call me on my mobile"},
            },
            now=clock(),
        )
    ]
    with db.write() as s:
        h.ingest_activities(s, acts, now=clock(), source="api")
        merge_people(s, pid, other, now=clock(), method="manual")
        author = create_user(
            s, email="rep@x.example", name="Rep", role="rep", password="correct horse battery", now=clock()
        )
        s.add(Note(person_id=pid, author_user_id=author, body="Ann's mobile is 555 0100", created_at=clock()))
        s.add(
            Task(
                person_id=pid,
                title="Call Ann Lee",
                due_at=clock() + timedelta(days=1),
                owner_user_id=author,
                created_by_user_id=author,
                created_at=clock(),
            )
        )
    return pid, other, author


def _activity_counts(db: Database) -> tuple[int, dict[Any, int]]:
    with db.read() as s:
        by_account = dict(
            s.execute(sa.select(Activity.account_id, sa.func.count()).group_by(Activity.account_id)).all()
        )
        return count(db, Activity), by_account


def test_an_export_holds_everything_on_the_person(db: Database, clock: FrozenClock) -> None:
    pid, other, _ = _ann(db, clock)
    with db.read() as s:
        data = export_person(s, other, now=clock())  # a merged-away id exports the person it is now
    assert data["person"]["id"] == pid and data["person"]["email"] == "ann@acme.com"
    assert [r["email"] for r in data["merged_records"]] == ["ann.lee@gmail.com"]
    assert {a["type"] for a in data["activities"]} >= {"pricing_page_view", "form_submit"}
    assert [n["body"] for n in data["notes"]] == ["Ann's mobile is 555 0100"]
    assert {e["scope"] for e in data["consent"]["history"]} >= {"newsletter", "events"}
    assert data["merges"] and "snapshot" not in data["merges"][0]
    assert data["erased_at"] is None


def test_an_erasure_empties_the_person_and_keeps_the_counts(db: Database, clock: FrozenClock) -> None:
    pid, other, author = _ann(db, clock)
    before = _activity_counts(db)
    with db.read() as s:
        leads_before = s.execute(sa.select(Lead.id, Lead.activity_count).order_by(Lead.id)).all()
    with db.write() as s:
        done = erase_person(s, other, now=clock(), by_user_id=author)
    assert (done.person_id, done.people, done.activities) == (pid, 2, before[0])
    with db.read() as s:
        for row in s.scalars(sa.select(Person).where(Person.id.in_((pid, other)))):
            assert (row.email, row.external_id, row.first_name, row.last_name, row.phone, row.title) == (
                None,
            ) * 6
            assert row.city is None and row.attributes == {}
        kept = s.get_one(Person, pid)
        assert kept.country == "US" and kept.account_id is not None  # reports by country and account add up
        acts = s.scalars(sa.select(Activity).where(Activity.person_id == pid)).all()
        assert all(a.payload == {"erased": True} and a.visitor_id is None for a in acts)
        assert [a.url for a in acts if a.url] == ["https://acme.example/pricing"]
        assert s.scalar(sa.select(Note.body)) == "[erased]" and s.scalar(sa.select(Task.title)) == "[erased]"
        assert s.scalar(sa.select(sa.func.count()).select_from(PersonKey)) == 0
        assert s.scalar(sa.select(Merge.snapshot)) == {"erased": True}
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(ErasedKey)) >= 4
        )  # both addresses, a key, the id
        audit = s.execute(sa.select(AuditEvent.kind, AuditEvent.subject)).all()
        assert ("person.erased", f"person #{pid}") in audit
        assert s.execute(sa.select(Lead.id, Lead.activity_count).order_by(Lead.id)).all() == leads_before
        last = s.execute(sa.select(ConsentEvent).order_by(ConsentEvent.id.desc()).limit(1)).scalar_one()
        assert (last.scope, last.status, last.source) == ("*", "withdrawn", "erasure")
    assert _activity_counts(db) == before
    with db.write() as s:
        assert may_send(s, pid, "newsletter", clock()).reason == Reason.ERASED
    with db.write() as s, pytest.raises(Conflict, match="erased"):
        erase_person(s, pid, now=clock(), by_user_id=author)
    with db.write() as s, pytest.raises(Conflict, match="erased"):
        unmerge(s, s.scalar(sa.select(Merge.id)) or 0, now=clock())
    with db.read() as s:
        data = export_person(s, pid, now=clock())
    text = str(data).lower()
    assert data["erased_at"] is not None
    assert not [
        x for x in ("ann@", "ann.lee", "'ann'", "'lee'", "sf-1", "oakland", "555", "mobile") if x in text
    ]


def test_no_door_brings_an_erased_person_back(
    db: Database, clock: FrozenClock, make_csv: Callable[..., Path]
) -> None:
    pid, _, author = _ann(db, clock)
    with db.write() as s:
        erase_person(s, pid, now=clock(), by_user_id=author)
    people = count(db, Person)
    activities = count(db, Activity)
    # A re-import of the same file, a Gmail spelling of the merged address, the CRM's id alone.
    path = make_csv(
        ["email", "first_name", "external_id"],
        [
            ["ann@acme.com", "Ann", ""],
            ["a.nn.lee+news@gmail.com", "Ann", ""],
            ["ann@newjob.com", "Ann", "SF-1"],
        ],
    )
    report = run_import(db, "people", path, now=clock, batch_size=10)
    assert (report.created, report.rejected) == (0, 3)
    assert report.rejects_path is not None
    with open(report.rejects_path, encoding="utf-8", newline="") as fh:
        reasons = [row["_reason"] for row in csv.DictReader(fh)]
    assert len(reasons) == 3 and all("erased" in r for r in reasons)
    # An activity about her address (a mail, a sync) is not stored; a form or the API is refused.
    with db.write() as s:
        got = h.ingest_activities(
            s,
            [m.parse_activity({"email": "ann@acme.com", "type": "email_reply"}, now=clock())],
            now=clock(),
            source="api",
        )
    assert [o.status for o in got.outcomes] == ["refused"]
    with db.write() as s, pytest.raises(Refused):
        store_lead(
            s,
            m.parse_person({"email": "ANN@acme.com"}),
            m.parse_activity({"email": "ann@acme.com", "type": "form_submit"}, now=clock()),
            now=clock(),
            source="form",
        )
    # Someone else in the same batch still lands.
    outcomes = capture_people(
        db, clock, {"email": "ann@acme.com"}, {"email": "bob@acme.com"}, source="import"
    )
    assert [o.status for o in outcomes] == ["refused", "created"]
    assert count(db, Person) == people + 1 and count(db, Activity) == activities + 1
