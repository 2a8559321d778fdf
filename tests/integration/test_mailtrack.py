"""E-mail tracking on SQLite and PostgreSQL: a person's click lands on their timeline through capture
and moves their engagement; a scanner's or a proxy's hit is recorded and moves nothing, in scoring,
segments or the lead; repeats are one activity; nothing is recorded for a person who is gone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop.capture.visits import object_to_tracking
from leadloop.core.clock import FrozenClock
from leadloop.core.events import ActivitiesAppended, MailTracked
from leadloop.identity.merge import merge_people
from leadloop.mailtrack.classify import Request
from leadloop.mailtrack.handlers import Recorded, record_hit
from leadloop.mailtrack.policy import policy_of
from leadloop.mailtrack.tokens import CLICK, OPEN, Claim, Source
from leadloop.privacy.erase import erase_person
from leadloop.segments import handlers as seg
from leadloop.segments.parse import parse_definition
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Lead, Person, SegmentMember
from tests.fixtures.capture import capture_people
from tests.fixtures.events import recorded

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
PERSON = Request("GET", BROWSER, "203.0.113.9")
SCANNER = Request("GET", "Mozilla/5.0 (compatible; Barracuda Sentinel)", "198.51.100.7")


def _person(db: Database, clock: FrozenClock, email: str) -> int:
    """Someone who filled in a form an hour ago (an open lead on their account)."""
    pid = capture_people(db, clock, {"email": email, "company": "Acme"}, kind="form_submit")[0].id
    assert pid is not None
    return pid


def _claim(
    pid: int, sent: datetime, *, url: str | None = "https://acme.com/pricing", message: str = "nurture:1:1"
) -> Claim:
    return Claim(CLICK if url else OPEN, pid, message, sent, Source("welcome", "hello"), url)


def _hit(db: Database, clock: FrozenClock, claim: Claim, request: Request = PERSON) -> Recorded:
    with db.write() as s:
        return record_hit(s, claim, request, now=clock())


def _timeline(db: Database, pid: int, *types: str) -> list[dict[str, Any]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(Activity.type, Activity.url, Activity.payload, Activity.source, Activity.channel)
            .where(
                Activity.person_id == pid,
                Activity.type.in_(
                    types or ("email_open", "email_click", "email_open_machine", "email_click_machine")
                ),
            )
            .order_by(Activity.id)
        ).all()
    return [dict(r._mapping) for r in rows]


def _lead_activity(db: Database, pid: int) -> tuple[int, datetime]:
    """The lead's activity count and last activity: what the reps' hot list reads."""
    with db.read() as s:
        account = s.scalar(sa.select(Person.account_id).where(Person.id == pid))
        row = s.execute(
            sa.select(Lead.activity_count, Lead.last_activity_at).where(Lead.account_id == account)
        ).one()
    return int(row.activity_count), row.last_activity_at


def _engagement(db: Database, pid: int) -> tuple[float, float, float]:
    """The person's (S, t0) and their lead's S: what a scored activity changes."""
    with db.read() as s:
        person = s.execute(
            sa.select(Person.engagement_s, Person.engagement_t0, Person.account_id).where(Person.id == pid)
        ).one()
        lead = s.scalar(sa.select(Lead.engagement_s).where(Lead.account_id == person.account_id)) or 0.0
    return person.engagement_s, person.engagement_t0, lead


def test_a_persons_click_is_on_their_timeline_and_moves_engagement(db: Database, clock: FrozenClock) -> None:
    pid = _person(db, clock, "ann@acme.com")
    sent = clock()
    clock.advance(minutes=20)
    before = _engagement(db, pid)
    appended = recorded(db, ActivitiesAppended)
    done = _hit(db, clock, _claim(pid, sent))
    assert done.why == "person" and done.hit is not None
    [click] = _timeline(db, pid)
    assert click["type"] == "email_click" and click["url"] == "https://acme.com/pricing"
    assert (click["source"], click["channel"]) == ("email", "email")
    assert click["payload"]["message"] == "nurture:1:1" and click["payload"]["user_agent"] == BROWSER
    assert click["payload"]["sequence"] == "welcome" and "machine" not in click["payload"]
    after = _engagement(db, pid)
    assert after[0] > before[0] and after[2] > before[2]  # the person's and their lead's
    assert [r["type"] for e in appended for r in e.rows] == ["email_click"]


def test_a_scanners_click_right_after_the_send_is_recorded_but_moves_nothing(
    db: Database, clock: FrozenClock
) -> None:
    pid = _person(db, clock, "ann@acme.com")
    sent = clock()
    clock.advance(seconds=4)
    before = _engagement(db, pid)
    lead_before = _lead_activity(db, pid)
    done = _hit(db, clock, _claim(pid, sent), PERSON)  # a browser's user agent, but 4 s after the send
    assert done.why == "machine"
    _hit(db, clock, _claim(pid, sent, url="https://acme.com/demo"), SCANNER)
    timeline = _timeline(db, pid)
    assert [a["type"] for a in timeline] == ["email_click_machine", "email_click_machine"]
    assert timeline[0]["payload"]["machine"] == ["too_soon"]
    assert timeline[1]["payload"]["machine"] == ["scanner:barracuda", "too_soon", "burst"]
    assert _engagement(db, pid) == before
    assert _lead_activity(db, pid) == lead_before  # nor does the lead look any more recently active


def test_a_privacy_proxys_open_is_recorded_and_a_persons_open_later_still_counts(
    db: Database, clock: FrozenClock
) -> None:
    pid = _person(db, clock, "ann@acme.com")
    sent = clock()
    clock.advance(minutes=2)
    before = _engagement(db, pid)
    _hit(db, clock, _claim(pid, sent, url=None), Request("GET", "Mozilla/5.0", "172.224.1.1"))  # Apple MPP
    assert _engagement(db, pid) == before
    clock.advance(minutes=1)
    _hit(db, clock, _claim(pid, sent, url=None))  # the person reads it in the same hour
    assert [a["type"] for a in _timeline(db, pid)] == ["email_open_machine", "email_open"]
    assert _engagement(db, pid)[0] > before[0]


def test_repeated_opens_in_the_window_are_one_activity(db: Database, clock: FrozenClock) -> None:
    pid = _person(db, clock, "ann@acme.com")
    sent = clock()
    clock.advance(hours=2)
    for _ in range(5):
        _hit(db, clock, _claim(pid, sent, url=None))
        clock.advance(minutes=5)
    assert len(_timeline(db, pid)) == 1
    clock.advance(hours=1)
    _hit(db, clock, _claim(pid, sent, url=None))  # a look the next hour is another open
    _hit(db, clock, _claim(pid, sent, url=None, message="nurture:1:2"))  # and another message's
    assert [a["payload"]["message"] for a in _timeline(db, pid)] == [
        "nurture:1:1",
        "nurture:1:1",
        "nurture:1:2",
    ]


def test_a_machines_click_is_no_engagement_for_a_segment(db: Database, clock: FrozenClock) -> None:
    ann = _person(db, clock, "ann@acme.com")
    bob = _person(db, clock, "bob@beta.com")
    with db.write() as s:
        clicked = seg.create_segment(
            s,
            name="Clicked",
            definition=parse_definition({"match": {"did": "email_click", "at_least": 1}}),
            now=clock(),
        )
    sent = clock()
    clock.advance(seconds=2)
    _hit(db, clock, _claim(bob, sent), SCANNER)
    clock.advance(minutes=30)
    _hit(db, clock, _claim(ann, sent))
    with db.read() as s:
        members = set(
            s.scalars(
                sa.select(SegmentMember.person_id).where(SegmentMember.segment_id == clicked.segment_id)
            )
        )
    assert members == {ann}


def test_a_click_for_someone_merged_since_lands_on_who_they_are_now(db: Database, clock: FrozenClock) -> None:
    ann = _person(db, clock, "ann@acme.com")
    old = _person(db, clock, "ann.old@acme.com")
    sent = clock()
    with db.write() as s:
        merge_people(s, ann, old, now=clock())
    clock.advance(minutes=10)
    _hit(db, clock, _claim(old, sent))
    assert [a["type"] for a in _timeline(db, ann)] == ["email_click"]


@pytest.mark.parametrize("gone", ["erased", "objected", "unknown", "expired"])
def test_nothing_is_recorded_for_a_person_who_is_gone_or_a_link_too_old(
    db: Database, clock: FrozenClock, gone: str
) -> None:
    pid = _person(db, clock, "ann@acme.com")
    sent = clock()
    with db.write() as s:
        if gone == "erased":
            erase_person(s, pid, now=clock(), by_user_id=None)
        elif gone == "objected":
            object_to_tracking(s, pid, now=clock(), source="test")
        days = policy_of(s).link_days
    clock.advance(days=days + 1 if gone == "expired" else 0, minutes=10)
    tracked = recorded(db, MailTracked)
    done = _hit(db, clock, _claim(987_654 if gone == "unknown" else pid, sent))
    assert done.hit is None and tracked == []
    assert (
        done.why
        == {
            "erased": "erased",
            "objected": "objected to tracking",
            "unknown": "unknown person",
            "expired": "expired",
        }[gone]
    )
    with db.read() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.type.like("email_%")))
            == 0
        )


def test_a_burst_after_a_persons_first_click_is_not_scored(db: Database, clock: FrozenClock) -> None:
    """A scanner that walks every link long after delivery: the first link is judged alone (it looks
    like a person), every other one within the second is a machine's."""
    pid = _person(db, clock, "ann@acme.com")
    sent = clock()
    clock.advance(minutes=15)
    for path in ("a", "b", "c"):
        _hit(db, clock, _claim(pid, sent, url=f"https://acme.com/{path}"))
        clock.advance(milliseconds=300)
    assert [a["type"] for a in _timeline(db, pid)] == [
        "email_click",
        "email_click_machine",
        "email_click_machine",
    ]
