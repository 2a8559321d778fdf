"""Identity resolution in the warehouse, on SQLite and PostgreSQL: real-time matching on capture
(normalised e-mail, fuzzy auto-merge, the review queue), merge with survivorship and the most
restrictive consent, scores rebuilt from the merged timeline, and unmerge restoring both exactly."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from leadloop.core.clock import FrozenClock
from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.identity.merge import merge_people, unmerge
from leadloop.identity.policy import KEY, MatchPolicy
from leadloop.identity.review import decide, open_pairs
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Merge, Person, SuspectedDuplicate
from tests.fixtures.capture import capture_people


def _row(db: Database, pid: int) -> dict[str, Any]:
    with db.read() as s:
        row = s.execute(sa.select(Person.__table__).where(Person.id == pid)).one()
        return dict(row._mapping)


def _timeline(db: Database, pid: int) -> list[tuple[int, int | None]]:
    with db.read() as s:
        return [
            tuple(r)
            for r in s.execute(  # type: ignore[misc]
                sa.select(Activity.id, Activity.account_id)
                .where(Activity.person_id == pid)
                .order_by(Activity.id)
            )
        ]


def test_gmail_dots_and_plus_tags_find_the_same_person(db: Database, clock: FrozenClock) -> None:
    first = capture_people(
        db, clock, {"email": "jane.doe@gmail.com", "first_name": "Jane", "last_name": "Doe"}
    )
    again = capture_people(
        db, clock, {"email": "JaneDoe+webinar@googlemail.com", "first_name": "Jane"}, kind="webinar_attended"
    )
    assert again[0].id == first[0].id and again[0].status in ("updated", "unchanged")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
        assert s.get_one(Person, first[0].id).email == "jane.doe@gmail.com"  # the stored spelling stays
    assert len(_timeline(db, first[0].id)) == 2


def test_dots_count_when_the_policy_says_so(db: Database, clock: FrozenClock) -> None:
    db.info[KEY] = MatchPolicy(gmail_dots=False)
    try:
        a = capture_people(
            db, clock, {"email": "jane.doe@gmail.com", "first_name": "Jane", "last_name": "Doe"}
        )
        b = capture_people(db, clock, {"email": "janedoe@gmail.com", "last_name": "Roe"})
    finally:
        db.info.pop(KEY)
    assert a[0].id != b[0].id


def test_a_fuzzy_twin_is_merged_automatically_and_keeps_one_timeline(
    db: Database, clock: FrozenClock
) -> None:
    a = capture_people(
        db,
        clock,
        {
            "email": "robert.smith@acme.com",
            "first_name": "Robert",
            "last_name": "Smith",
            "company": "Acme Inc.",
            "phone": "+1 212 555 0142",
            "city": "New York",
        },
    )
    b = capture_people(
        db,
        clock,
        {
            "email": "bob.smith77@gmail.com",
            "first_name": "Bob",
            "last_name": "Smith",
            "company": "ACME",
            "phone": "+1 (212) 555-0142",
            "city": "New York",
        },
        kind="webinar_attended",
    )
    assert b[0].id == a[0].id  # the new record merged into the older one
    with db.read() as s:
        merge = s.scalars(sa.select(Merge)).one()
        assert merge.method == "auto" and merge.probability is not None and merge.probability >= 0.995
        assert "same phone" in merge.reasons
        merged = s.get_one(Person, merge.merged_id)
        assert merged.merged_into_id == a[0].id
    assert len(_timeline(db, a[0].id)) == 2
    # the merged-away address still finds the survivor
    c = capture_people(db, clock, {"email": "bob.smith77@gmail.com"}, kind="pricing_page_view")
    assert c[0].id == a[0].id


def test_a_likely_twin_waits_for_review_and_not_the_same_is_remembered(
    db: Database, clock: FrozenClock
) -> None:
    a = capture_people(
        db,
        clock,
        {
            "email": "k.weber@nordwind.de",
            "first_name": "Katharina",
            "last_name": "Weber",
            "company": "Nordwind GmbH",
            "city": "Berlin",
        },
    )
    b = capture_people(
        db,
        clock,
        {
            "email": "kathi.weber@web.de",
            "first_name": "Kathi",
            "last_name": "Weber",
            "company": "Nordwind",
            "city": "Berlin",
        },
    )
    assert a[0].id != b[0].id
    with db.read() as s:
        pairs, total = open_pairs(s)
    assert total == 1 and {pairs[0].left["id"], pairs[0].right["id"]} == {a[0].id, b[0].id}
    assert 0.8 <= pairs[0].probability < 0.995 and "same company" in pairs[0].reasons
    with db.write() as s:
        decide(s, pairs[0].id, "distinct", now=clock(), by_user_id=None)
    with db.write() as s, pytest.raises(Conflict, match="already decided"):
        decide(s, pairs[0].id, "merge", now=clock(), by_user_id=None)
    # the same pair is not asked again when one of them changes
    capture_people(db, clock, {"email": "kathi.weber@web.de", "title": "CTO"})
    with db.read() as s:
        assert open_pairs(s)[1] == 0
        assert s.scalar(sa.select(SuspectedDuplicate.status)) == "distinct"


def test_merge_survivorship_consent_and_exact_unmerge(db: Database, clock: FrozenClock) -> None:
    a = capture_people(
        db,
        clock,
        {
            "email": "ann@orbit.io",
            "first_name": "Ann",
            "last_name": "Lee",
            "title": "Analyst",
            "company": "Orbit",
            "email_opt_in": "true",
        },
        source="import",
        minutes_ago=600,
    )
    clock.advance(hours=1)
    b = capture_people(
        db,
        clock,
        {
            "email": "ann.lee@post.example",
            "first_name": "Annie",
            "last_name": "Leigh",
            "title": "Head of Data",
            "email_opt_in": "false",
            "phone": "+1 415 555 0199",
        },
        source="form",
        kind="pricing_page_view",
        minutes_ago=30,
    )
    sid, mid = a[0].id, b[0].id
    assert sid is not None and mid is not None and sid != mid
    before = (_row(db, sid), _row(db, mid), _timeline(db, sid), _timeline(db, mid))
    clock.advance(minutes=5)
    with db.write() as s:
        done = merge_people(s, sid, mid, now=clock(), method="manual")
    after = _row(db, sid)
    assert after["email_opt_in"] is False  # the opt-out is never lost
    assert after["title"] == "Head of Data"  # the form outranks the import, and is newer
    assert after["phone"] == "+14155550199"  # filled from the merged record
    assert after["email"] == "ann@orbit.io"  # identifiers stay with their records
    assert set(_timeline(db, sid)) == {*before[2], *before[3]}  # the union of both timelines
    assert _timeline(db, mid) == []
    # scores are recomputed from the merged timeline, never summed
    assert after["engagement_s"] < before[0]["engagement_s"] + before[1]["engagement_s"] + 1e-9
    assert after["engagement_s"] > max(before[0]["engagement_s"], before[1]["engagement_s"])
    assert "email_opt_in" not in done.changed  # consent/ decides it, in its log (ADR 0027)

    with db.write() as s, pytest.raises(Conflict, match="already merged"):
        merge_people(s, sid, mid, now=clock())
    with db.write() as s, pytest.raises(InvalidInput, match="themselves"):
        merge_people(s, sid, sid, now=clock())
    with db.write() as s, pytest.raises(Conflict, match=f"was merged into #{sid}"):
        merge_people(s, mid, sid, now=clock())
    with db.write() as s, pytest.raises(NotFound):
        merge_people(s, sid, 999_999, now=clock())

    with db.write() as s:
        unmerge(s, done.merge_id, now=clock())
    assert (_row(db, sid), _row(db, mid), _timeline(db, sid), _timeline(db, mid)) == before
    with db.read() as s:
        assert s.get_one(Merge, done.merge_id).unmerged_at is not None
    with db.write() as s, pytest.raises(Conflict, match="already undone"):
        unmerge(s, done.merge_id, now=clock())


def test_unmerge_in_order_when_merges_chain(db: Database, clock: FrozenClock) -> None:
    ids = [
        o.id
        for o in (
            capture_people(db, clock, {"email": f"p{k}@x{k}.example", "last_name": f"Zed{k}"})[0]
            for k in range(3)
        )
    ]
    a, b, c = (i for i in ids if i is not None)
    with db.write() as s:
        first = merge_people(s, b, c, now=clock()).merge_id
    with db.write() as s:
        merge_people(s, a, b, now=clock())
    with db.read() as s:
        assert s.get_one(Person, c).merged_into_id == a  # chains are flattened
    with db.write() as s, pytest.raises(Conflict, match="undo that merge first"):
        unmerge(s, first, now=clock())
    # a capture by the oldest merged-away address lands on the final survivor
    assert capture_people(db, clock, {"email": "p2@x2.example"}, kind="page_view")[0].id == a


def test_warehouse_dedupe_merges_and_queues_what_capture_let_through(
    db: Database, db_url: str, clock: FrozenClock
) -> None:
    from typer.testing import CliRunner

    from leadloop.cli import app

    db.info[KEY] = MatchPolicy(auto_merge=1.0, review=1.0)  # as if stored before matching existed
    try:
        rows = [
            {
                "email": "tom.ray@delta.io",
                "first_name": "Thomas",
                "last_name": "Ray",
                "company": "Delta",
                "phone": "+44 20 7946 0101",
                "city": "London",
            },
            {
                "email": "tommy.ray@gmail.com",
                "first_name": "Tommy",
                "last_name": "Ray",
                "company": "Delta Ltd",
                "phone": "+44 20 7946 0101",
                "city": "London",
            },
            {
                "email": "e.stone@vela.io",
                "first_name": "Eva",
                "last_name": "Stone",
                "company": "Vela",
                "city": "Leeds",
            },
            {
                "email": "evastone@yahoo.com",
                "first_name": "Eva",
                "last_name": "Stone",
                "company": "Vela",
                "city": "Leeds",
            },
            {"email": "ann@other.io", "first_name": "Ann", "last_name": "Other", "city": "Paris"},
        ]
        capture_people(db, clock, *rows)
    finally:
        db.info.pop(KEY)
    runner = CliRunner()
    dry = runner.invoke(app, ["dedupe", "--warehouse", "--dry-run", "--database-url", db_url])
    assert dry.exit_code == 0, dry.output
    assert "1 pairs would merge" in dry.output and "1 would queue" in dry.output
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Merge)) == 0
    done = runner.invoke(app, ["dedupe", "--warehouse", "--database-url", db_url])
    assert done.exit_code == 0, done.output
    assert "1 pairs merged" in done.output and "1 queued for review" in done.output
    with db.read() as s:
        merge = s.scalars(sa.select(Merge)).one()
        assert merge.method == "warehouse"
        assert s.get_one(Person, merge.merged_id).email == "tommy.ray@gmail.com"
        assert open_pairs(s)[1] == 1
    both = runner.invoke(app, ["dedupe", "x.csv", "--warehouse", "--database-url", db_url])
    assert both.exit_code == 2 and "not both" in both.output


def test_a_record_whose_external_id_was_merged_away_updates_the_survivor(
    db: Database, clock: FrozenClock
) -> None:
    """A re-import names a merged-away record by its id and the survivor by its address: the row
    lands on the survivor, whose own external id stays (the merged row keeps TS-18). It used to set
    TS-18 on the survivor and fail the whole batch on the unique index."""
    (old,) = capture_people(db, clock, {"external_id": "TS-18", "email": "greta.l@polarsignal.se"})
    (new,) = capture_people(db, clock, {"email": "greta@polarsignal.se", "first_name": "Greta"})
    with db.write() as s:
        merge_people(s, int(new.id), int(old.id), now=clock(), method="manual")  # type: ignore[arg-type]
    (again,) = capture_people(
        db, clock, {"external_id": "TS-18", "email": "greta@polarsignal.se", "title": "VP Engineering"}
    )
    assert again.id == new.id and again.status == "updated"
    row = _row(db, int(new.id))  # type: ignore[arg-type]
    assert row["title"] == "VP Engineering" and row["external_id"] is None
