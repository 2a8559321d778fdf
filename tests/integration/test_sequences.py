"""Sequences end to end, on SQLite and PostgreSQL: a person enters (a new inquiry, by hand), the
sweeper takes their steps, a real SMTP server receives the messages; goals end an enrolment; the
re-entry policy both ways; every active enrolment has exactly one pending timer throughout."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from leadloop.capture.intake import store_lead
from leadloop.capture.mailin import MailPolicy, log_mail
from leadloop.capture.model import parse_activity, parse_person
from leadloop.consent import tokens
from leadloop.consent.handlers import confirm_subscription
from leadloop.core.clock import FrozenClock
from leadloop.core.errors import NotFound
from leadloop.core.events import LeadRecycled
from leadloop.core.reactions import publish
from leadloop.core.yamldoc import DocumentError
from leadloop.documents.handlers import save_draft
from leadloop.mailtrack.classify import Request
from leadloop.mailtrack.handlers import record_hit
from leadloop.mailtrack.policy import policy_of as tracking_policy
from leadloop.mailtrack.tokens import CLICK
from leadloop.nurture import handlers as nurture
from leadloop.nurture.kind import SEQUENCES
from leadloop.nurture.queries import report as sequence_report
from leadloop.nurture.repository import STEP_TIMER, subject
from leadloop.segments.handlers import create_segment
from leadloop.segments.parse import parse_definition
from leadloop.settings import Settings
from leadloop.store.db import Database
from leadloop.store.tables import (
    Activity,
    Enrolment,
    Lead,
    NurtureSend,
    NurtureStep,
    Outbox,
    Person,
    Task,
    Timer,
)
from tests.fixtures.capture import capture_people
from tests.fixtures.consent import link, use_policy
from tests.fixtures.nurture import (
    Smtp,
    activate_sequence,
    assert_invariant,
    enrolments,
    sequence_text,
    sweeper,
)

TWO_MAILS = """\
  - id: hello
    email:
      subject: "Hello {{ first_name | default('there') }}"
      text: |
        Hi {{ first_name | default("there") }},

        welcome to {{ company | default("us") }}.
  - wait: {days: 2}
  - id: second
    email: {subject: "Second", text: "More for you."}
"""

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def _settings(smtp: Smtp) -> Settings:
    return Settings(smtp_port=smtp.port, mail_postal_address="Ourco Ltd, 1 Main Street, Springfield")


def _person(db: Database, clock: FrozenClock, email: str, **fields: str) -> int:
    outcome = capture_people(db, clock, {"email_opt_in": "true", "email": email, **fields}, kind=None)[0]
    return int(outcome.id)


def test_a_new_inquiry_gets_its_sequence_the_same_day_through_a_real_smtp_server(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS, triggers="{inquiry: true}"), clock=clock)
    # A form on a company address: the lead opens as an inquiry (not a hand-raise, not an MQL).
    capture_people(
        db,
        clock,
        {"email_opt_in": "true", "email": "ana@acme.example", "first_name": "Ana", "company": "Acme"},
    )
    (e,) = enrolments(db)
    assert (e.state, e.trigger, e.step) == ("active", "inquiry", "hello") and e.lead_id is not None
    assert_invariant(db)
    worker = sweeper(db, clock, _settings(smtp_server))
    worker.run_once()
    (msg,) = smtp_server.inbox.to("ana@acme.example")
    assert msg["Subject"] == "Hello Ana"
    assert str(msg["From"]) == "Priya Patel <priya@ourco.io>" and str(msg["Reply-To"]) == "priya@ourco.io"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "Hi Ana," in text.get_content() and "Ourco Ltd, 1 Main Street, Springfield" in text.get_content()
    assert "<p>Hi Ana,</p>" in html.get_content().replace("<br>", "") and "Springfield" in html.get_content()
    (e,) = enrolments(db)
    assert (e.state, e.step) == ("active", "second")
    assert_invariant(db)
    clock.advance(days=1)
    worker.run_once()
    assert len(smtp_server.inbox.messages) == 1  # the wait is two days
    clock.advance(days=1, seconds=1)
    worker.run_once()
    assert [m["Subject"] for m in smtp_server.inbox.to("ana@acme.example")] == ["Hello Ana", "Second"]
    (e,) = enrolments(db)
    assert (e.state, e.exit_reason) == ("completed", "completed")
    assert_invariant(db)
    clock.advance(days=30)
    worker.run_once()
    assert len(smtp_server.inbox.messages) == 2  # nothing after the end, nothing twice


def test_a_reply_ends_the_sequence_and_nothing_more_is_sent(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
    pid = _person(db, clock, "bo@acme.example", first_name="Bo")
    with db.write() as s:
        done = nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
    assert len(done.enrolled) == 1 and not done.refused
    worker = sweeper(db, clock, _settings(smtp_server))
    worker.run_once()
    capture_people(
        db, clock, {"email_opt_in": "true", "email": "bo@acme.example"}, kind="email_reply", minutes_ago=0
    )
    (e,) = enrolments(db)
    assert (e.state, e.exit_reason) == ("exited", "replied")
    assert_invariant(db)
    with db.read() as s:
        assert s.scalar(
            sa.select(Timer.done_at).where(Timer.kind == STEP_TIMER, Timer.subject == subject(e.id))
        )
    clock.advance(days=5)
    worker.run_once()
    assert [m["Subject"] for m in smtp_server.inbox.messages] == ["Hello Bo"]


def test_reaching_mql_and_a_salesperson_owning_the_lead_end_it(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS, triggers="{inquiry: true}"), clock=clock)
    capture_people(db, clock, {"email_opt_in": "true", "email": "cy@acme.example"})
    (e,) = enrolments(db)
    assert e.state == "active"
    # A demo request: the hand-raise makes the lead an MQL, and routing gives it to sales at once.
    capture_people(
        db, clock, {"email_opt_in": "true", "email": "cy@acme.example"}, kind="demo_request", minutes_ago=0
    )
    (e,) = enrolments(db)
    assert (e.state, e.exit_reason) == ("exited", "reached_mql")
    assert_invariant(db)


def test_re_entry_never_and_always_both_ways(db: Database, clock: FrozenClock) -> None:
    steps = "  - email: {subject: Hi, text: Hello.}\n"
    with db.write() as s:
        activate_sequence(s, sequence_text("once", steps, re_entry="never"), clock=clock)
        activate_sequence(s, sequence_text("again", steps, re_entry="always"), clock=clock)
        activate_sequence(s, sequence_text("later", steps, re_entry="{after_days: 30}"), clock=clock)
    pid = _person(db, clock, "di@acme.example")
    for name in ("once", "again", "later"):
        with db.write() as s:
            first = nurture.enrol(s, name, [(pid, None)], trigger="manual", now=clock())
            twice = nurture.enrol(s, name, [(pid, None)], trigger="manual", now=clock())
        assert len(first.enrolled) == 1
        assert twice.refused == [(pid, "already in this sequence")]  # never two at once
        with db.write() as s:
            nurture.exit_enrolments(s, reason="manual", enrolment_ids=first.enrolled, now=clock())
    clock.advance(days=1)
    with db.write() as s:
        never = nurture.enrol(s, "once", [(pid, None)], trigger="manual", now=clock())
        always = nurture.enrol(s, "again", [(pid, None)], trigger="manual", now=clock())
        soon = nurture.enrol(s, "later", [(pid, None)], trigger="manual", now=clock())
    assert never.enrolled == [] and "never repeated" in never.refused[0][1]
    assert len(always.enrolled) == 1
    assert soon.enrolled == [] and "less than 30 days ago" in soon.refused[0][1]
    clock.advance(days=30)
    with db.write() as s:
        later = nurture.enrol(s, "later", [(pid, None)], trigger="manual", now=clock())
        still_never = nurture.enrol(s, "once", [(pid, None)], trigger="manual", now=clock())
    assert len(later.enrolled) == 1 and still_never.enrolled == []
    assert_invariant(db)


def test_a_refused_send_records_the_reason_and_never_reaches_the_outbox(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
    pid = _person(db, clock, "ed@acme.example", email_opt_in="false")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
    sweeper(db, clock, _settings(smtp_server)).run_once()
    (e,) = enrolments(db)
    assert (e.state, e.exit_reason, e.note) == ("exited", "send_refused", "unsubscribed")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Outbox)) == 0
        log = s.execute(sa.select(NurtureStep.kind, NurtureStep.outcome, NurtureStep.detail)).all()
    assert ("email", "refused", "unsubscribed") in log
    assert smtp_server.inbox.messages == []
    assert_invariant(db)


def test_recycled_leads_enter_the_sequence_for_their_reason(db: Database, clock: FrozenClock) -> None:
    steps = "  - email: {subject: Hi, text: Hello.}\n"
    with db.write() as s:
        activate_sequence(s, sequence_text("any-reason", steps, triggers="{recycled: true}"), clock=clock)
        activate_sequence(
            s, sequence_text("no-budget", steps, triggers="{recycled: [no_budget]}"), clock=clock
        )
    capture_people(
        db,
        clock,
        {"email_opt_in": "true", "email": "fa@acme.example"},
        {"email_opt_in": "true", "email": "gu@beta.example"},
    )
    with db.write() as s:
        leads = {lead.account_id: lead for lead in s.scalars(sa.select(Lead))}
        assert len(leads) == 2
        for lead, reason in zip(leads.values(), ("no_budget", "not_a_fit"), strict=True):
            lead.stage = "recycled"
            publish(
                s,
                [
                    LeadRecycled(
                        lead.id,
                        trigger="rejected",
                        reason=reason,
                        from_stage="mql",
                        stage="recycled",
                        at=clock(),
                    )
                ],
                now=clock(),
            )
    got = {e.trigger_detail: e.sequence_name for e in enrolments(db)}
    assert got == {"no_budget": "no-budget", "not_a_fit": "any-reason"}
    assert_invariant(db)


def test_task_webhook_and_stage_steps(db: Database, clock: FrozenClock, smtp_server: Smtp) -> None:
    from leadloop.auth.handlers import create_user

    steps = """\
  - task: {title: "Call {{ first_name | default('them') }}", due_in_hours: 4}
  - webhook: {event: nurtured, data: {campaign: q4}}
  - stage: recycled
"""
    with db.write() as s:
        rep = create_user(
            s, email="priya@ourco.io", name="Priya Patel", role="marketing", password=None, now=clock()
        )
        activate_sequence(s, sequence_text("touch", steps, triggers="{inquiry: true}"), clock=clock)
    capture_people(db, clock, {"email_opt_in": "true", "email": "ha@acme.example", "first_name": "Ha"})
    with db.write() as s:  # the lead went to nurture meanwhile: recycling it is a road the lifecycle has
        lead = s.scalars(sa.select(Lead)).one()
        lead.stage = "nurture"
    sweeper(db, clock, Settings(smtp_port=smtp_server.port, webhook_url=None)).run_once()
    with db.read() as s:
        task = s.scalars(sa.select(Task)).one()
        assert (task.title, task.owner_user_id, task.lead_id) == ("Call Ha", rep, lead.id)
        hook = s.scalars(sa.select(Outbox).where(Outbox.channel == "webhook")).one()
        assert hook.payload["event"] == "sequence.nurtured" and hook.payload["data"]["campaign"] == "q4"
        assert s.get(Lead, lead.id).stage == "recycled"  # type: ignore[union-attr]
    (e,) = enrolments(db)
    assert e.state == "completed"
    assert_invariant(db)


def test_people_in_a_sequence_finish_the_version_they_entered(db: Database, clock: FrozenClock) -> None:
    with db.write() as s:
        v1 = activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
    pid = _person(db, clock, "io@acme.example")
    other = _person(db, clock, "ju@acme.example")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
        v2 = activate_sequence(s, sequence_text("welcome", TWO_MAILS, version=2), clock=clock)
        nurture.enrol(s, "welcome", [(other, None)], trigger="manual", now=clock())
    assert [(e.person_id, e.sequence_id) for e in enrolments(db)] == [(pid, v1), (other, v2)]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Person)) == 2
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.state == "active"))
            == 2
        )


def test_an_activity_a_cooled_lead_and_a_lost_lead_start_the_sequences_that_name_them(
    db: Database, clock: FrozenClock
) -> None:
    from leadloop.core.events import LeadCooled, LeadMoved

    steps = "  - email: {subject: Hi, text: Hello.}\n"
    with db.write() as s:
        activate_sequence(
            s, sequence_text("downloads", steps, triggers="{activities: [content_download]}"), clock=clock
        )
        activate_sequence(s, sequence_text("cooled", steps, triggers="{cooled: true}"), clock=clock)
        activate_sequence(s, sequence_text("lost", steps, triggers="{stages: [lost]}"), clock=clock)
    capture_people(
        db,
        clock,
        {"email_opt_in": "true", "email": "ka@acme.example"},
        kind="content_download",
        minutes_ago=0,
    )
    capture_people(
        db,
        clock,
        {"email_opt_in": "true", "email": "lo@beta.example"},
        {"email_opt_in": "true", "email": "me@gamma.example"},
    )
    with db.write() as s:
        cooled, lost = (
            s.scalars(
                sa.select(Lead).join(Person, Person.account_id == Lead.account_id).where(Person.email == e)
            ).one()
            for e in ("lo@beta.example", "me@gamma.example")
        )
        cooled.stage, lost.stage = "nurture", "lost"
        publish(
            s,
            [
                LeadCooled(cooled.id, 12.0, clock()),
                LeadMoved(lost.id, "sql", "lost", "lost", "budget cut", clock()),
                LeadMoved(lost.id, "lost", "lost", "touched", None, clock()),  # no move: nobody enters twice
            ],
            now=clock(),
        )
    got = sorted((e.sequence_name, e.trigger, e.trigger_detail) for e in enrolments(db))
    assert got == [
        ("cooled", "cooled", None),
        ("downloads", "activity", "content_download"),
        ("lost", "stage", "lost"),
    ]
    assert_invariant(db)


def test_retiring_a_sequence_stops_new_entries_and_with_stop_the_running_ones(
    db: Database, clock: FrozenClock
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
        activate_sequence(s, sequence_text("other", TWO_MAILS), clock=clock)
    a, b = _person(db, clock, "na@acme.example"), _person(db, clock, "ob@acme.example")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(a, None)], trigger="manual", now=clock())
        nurture.enrol(s, "other", [(a, None)], trigger="manual", now=clock())
        assert nurture.retire(s, "welcome", stop_running=False, now=clock()) == []
    with db.write() as s:
        with pytest.raises(NotFound, match="no version of sequence 'welcome' is active"):
            nurture.enrol(s, "welcome", [(b, None)], trigger="manual", now=clock())
        assert len(nurture.retire(s, "other", stop_running=True, now=clock())) == 1
    got = {(e.sequence_name, e.state, e.exit_reason) for e in enrolments(db)}
    assert got == {("welcome", "active", None), ("other", "exited", "sequence_retired")}
    assert_invariant(db)


def test_an_opt_out_event_ends_the_enrolments_of_its_subscription_types(
    db: Database, clock: FrozenClock
) -> None:
    """The shape consent's ConsentWithdrawn has (person_id, scopes): wired by the composition root."""
    from dataclasses import dataclass

    from leadloop.nurture.reactions import on_people_opted_out

    @dataclass(frozen=True)
    class Withdrawn:
        person_id: int
        scopes: tuple[str, ...]

    steps = "  - wait: {days: 1}\n  - email: {subject: Hi, text: Hello.}\n"
    with db.write() as s:
        activate_sequence(s, sequence_text("news", steps, extra="subscription: newsletter\n"), clock=clock)
        activate_sequence(s, sequence_text("events", steps, extra="subscription: events\n"), clock=clock)
    pid = _person(db, clock, "pa@acme.example")
    with db.write() as s:
        for name in ("news", "events"):
            nurture.enrol(s, name, [(pid, None)], trigger="manual", now=clock())
        on_people_opted_out(s, [Withdrawn(pid, ("events",))], clock())
    assert {(e.sequence_name, e.state) for e in enrolments(db)} == {("news", "active"), ("events", "exited")}
    with db.write() as s:
        on_people_opted_out(s, [Withdrawn(pid, ("*",))], clock())
    assert {e.exit_reason for e in enrolments(db)} == {"unsubscribed"}
    assert_invariant(db)


def test_an_enrolment_follows_its_person_into_a_merge_and_never_doubles_up(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    from leadloop.identity.merge import merge_people

    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
        activate_sequence(s, sequence_text("other", TWO_MAILS), clock=clock)
    a, b = _person(db, clock, "qa@acme.example"), _person(db, clock, "qb@acme.example")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(a, None), (b, None)], trigger="manual", now=clock())
        nurture.enrol(s, "other", [(a, None)], trigger="manual", now=clock())
        merge_people(s, b, a, now=clock())  # a is b now: b is already in "welcome", not in "other"
    sweeper(db, clock, _settings(smtp_server)).run_once()
    got = {(e.sequence_name, e.person_id, e.state, e.exit_reason) for e in enrolments(db)}
    assert got == {
        ("welcome", b, "active", None),
        ("welcome", a, "exited", "merged"),
        ("other", b, "active", None),
    }
    assert sorted(m["Subject"] for m in smtp_server.inbox.to("qb@acme.example")) == [
        "Hello there",
        "Hello there",
    ]
    assert_invariant(db)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("email_reply", "replied"),
        ("meeting", "meeting_booked"),
        ("email_bounce_hard", "hard_bounce"),
        ("unsubscribe", "unsubscribed"),
    ],
)
def test_each_goal_of_the_person_ends_their_enrolments(
    db: Database, clock: FrozenClock, kind: str, reason: str
) -> None:
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
    pid = _person(db, clock, "ra@acme.example")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
    capture_people(db, clock, {"email_opt_in": "true", "email": "ra@acme.example"}, kind=kind, minutes_ago=0)
    (e,) = enrolments(db)
    assert (e.state, e.exit_reason) == ("exited", reason)
    assert_invariant(db)


def test_the_window_is_the_recipients_own_and_the_account_rep_sends(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """Sunday 12:00 UTC is 21:00 on Sunday in Tokyo: a Monday-to-Friday 09:00-17:00 window opens at
    09:00 on Monday there (00:00 UTC), and the e-mail comes from the account's rep."""
    from datetime import UTC, datetime

    from leadloop.auth.handlers import create_user
    from leadloop.store.tables import Account

    steps = "  - email: {subject: Konnichiwa, text: Hello.}\n"
    window = '{days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}'
    with db.write() as s:
        rep = create_user(
            s, email="kenji@ourco.io", name="Kenji Sato", role="rep", password=None, now=clock()
        )
        activate_sequence(
            s, sequence_text("apac", steps, window=window).replace("from: sender", "from: owner"), clock=clock
        )
    pid = _person(db, clock, "yui@tokyo.example", country="JP")
    with db.write() as s:
        account_id = s.scalar(sa.select(Person.account_id).where(Person.id == pid))
        s.execute(sa.update(Account).where(Account.id == account_id).values(owner_user_id=rep))
        nurture.enrol(s, "apac", [(pid, None)], trigger="manual", now=clock())
    worker = sweeper(db, clock, _settings(smtp_server))
    worker.run_once()
    assert smtp_server.inbox.messages == []
    (e,) = enrolments(db)
    monday_nine_tokyo = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    with db.read() as s:
        due = s.scalar(
            sa.select(Timer.due_at).where(Timer.kind == STEP_TIMER, Timer.subject == subject(e.id))
        )
    assert e.note == "waiting for the send window" and due == monday_nine_tokyo
    clock.advance(hours=12)
    worker.run_once()
    (msg,) = smtp_server.inbox.messages
    assert str(msg["From"]) == "Kenji Sato <kenji@ourco.io>" and str(msg["Reply-To"]) == "kenji@ourco.io"


def _segment(db: Database, clock: FrozenClock, name: str, definition: dict[str, object]) -> int:
    with db.write() as s:
        return create_segment(s, name=name, definition=parse_definition(definition), now=clock()).segment_id


def test_people_entering_a_segment_start_its_sequence_unless_sales_works_their_account(
    db: Database, clock: FrozenClock
) -> None:
    """Through the real events: an activity puts the person in the segment (SegmentEntered) and the
    sequence that names it enrols them, in the capture's transaction."""
    _segment(db, clock, "attended-webinar", {"match": {"did": "webinar_attended"}})
    _segment(db, clock, "pricing-visitors", {"match": {"did": "pricing_page_view"}})
    steps = "  - email: {subject: Hi, text: Hello.}\n"
    with db.write() as s:
        activate_sequence(
            s, sequence_text("webinar", steps, triggers="{segments: [attended-webinar]}"), clock=clock
        )
    capture_people(
        db, clock, {"email_opt_in": "true", "email": "sb@beta.example"}, kind="demo_request", minutes_ago=0
    )  # with sales now
    for email in ("sa@acme.example", "sb@beta.example", "sc@gamma.example"):
        kind = "pricing_page_view" if email.startswith("sc") else "webinar_attended"
        capture_people(db, clock, {"email_opt_in": "true", "email": email}, kind=kind, minutes_ago=0)
    with db.read() as s:
        free = s.scalar(sa.select(Person.id).where(Person.email == "sa@acme.example"))
    assert [(e.person_id, e.trigger, e.trigger_detail) for e in enrolments(db)] == [
        (free, "segment", "attended-webinar")
    ]
    assert_invariant(db)


def test_a_branch_on_a_segment_follows_membership_now(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    _segment(db, clock, "germans", {"match": {"field": "person.country", "op": "in", "value": ["DE"]}})
    steps = """\
  - branch: {if: {segment: germans}, then: de, else: en}
  - id: de
    email: {subject: Hallo, text: Guten Tag.}
  - goto: end
  - id: en
    email: {subject: Hello, text: Good day.}
"""
    with db.write() as s:
        activate_sequence(s, sequence_text("hello", steps), clock=clock)
    de = _person(db, clock, "ute@acme.example", country="Germany")
    en = _person(db, clock, "bob@beta.example", country="GB")
    with db.write() as s:
        nurture.enrol(s, "hello", [(de, None), (en, None)], trigger="manual", now=clock())
    sweeper(db, clock, _settings(smtp_server)).run_once()
    assert [str(m["Subject"]) for m in smtp_server.inbox.to("ute@acme.example")] == ["Hallo"]
    assert [str(m["Subject"]) for m in smtp_server.inbox.to("bob@beta.example")] == ["Hello"]
    assert_invariant(db)


@pytest.mark.parametrize(
    ("extra", "triggers", "steps", "words", "line"),
    [
        (
            "subscription: gossip\n",
            "{}",
            "  - email: {subject: Hi, text: Hello.}\n",
            "not a subscription type",
            8,
        ),
        (
            "",
            "{segments: [nobody-made-this]}",
            "  - email: {subject: Hi, text: Hello.}\n",
            "no segment called",
            3,
        ),
        (
            "",
            "{}",
            "  - branch: {if: {segment: ghosts}, then: end}\n  - email: {subject: Hi, text: Hello.}\n",
            "no segment called 'ghosts'",
            9,
        ),
    ],
)
def test_a_sequence_naming_what_does_not_exist_is_refused_at_save_time_with_the_line(
    db: Database, clock: FrozenClock, extra: str, triggers: str, steps: str, words: str, line: int
) -> None:
    text = sequence_text("bad", steps, triggers=triggers, extra=extra)
    with db.write() as s, pytest.raises(DocumentError) as caught:
        save_draft(s, SEQUENCES, text, now=clock())
    ((at, message),) = caught.value.problems
    assert words in message and at == line, (at, message, text)


def test_every_active_enrolment_keeps_exactly_one_pending_timer_through_random_operations(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """Random enrolments, exits, replies, merges of time and sweeps; the invariant after each."""
    import random

    rng = random.Random(20261101)
    looped = """\
  - id: a
    email: {subject: A, text: Hello.}
  - wait: {hours: 5}
  - id: b
    branch: {if: {opened: a}, then: end, else: c}
  - id: c
    email: {subject: C, text: Again.}
  - wait: {days: 1}
  - goto: a
"""
    with db.write() as s:
        activate_sequence(s, sequence_text("loop", looped, re_entry="always"), clock=clock)
        activate_sequence(s, sequence_text("two", TWO_MAILS, re_entry="{after_days: 1}"), clock=clock)
    people = [_person(db, clock, f"r{i}@rand{i}.example") for i in range(8)]
    worker = sweeper(db, clock, Settings(smtp_port=smtp_server.port, nurture_max_emails=4))
    for _ in range(60):
        op = rng.choice(["enrol", "enrol", "exit", "reply", "sweep", "sweep", "time"])
        if op == "enrol":
            with db.write() as s:
                nurture.enrol(
                    s,
                    rng.choice(["loop", "two"]),
                    [(rng.choice(people), None)],
                    trigger="manual",
                    now=clock(),
                )
        elif op == "exit":
            with db.write() as s:
                nurture.exit_enrolments(s, reason="manual", person_ids=[rng.choice(people)], now=clock())
        elif op == "reply":
            i = people.index(rng.choice(people))
            capture_people(
                db,
                clock,
                {"email_opt_in": "true", "email": f"r{i}@rand{i}.example"},
                kind="email_reply",
                minutes_ago=0,
            )
        elif op == "sweep":
            worker.run_once()
        else:
            clock.advance(hours=rng.choice([1, 3, 6, 25]))
        assert_invariant(db)
    worker.run_once()
    with db.read() as s:
        sent = s.scalar(sa.select(sa.func.count()).select_from(NurtureSend))
        states = {e.state for e in s.scalars(sa.select(Enrolment))}
    assert sent and len(smtp_server.inbox.messages) == sent  # every step's e-mail arrived, once
    assert states == {"active", "completed", "exited"}  # the walk went through every state


def test_a_persons_click_on_the_received_link_takes_the_clicked_branch_and_a_scanners_does_not(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """End to end: the message as the SMTP server received it carries signed links (the unsubscribe
    link untouched); a click on one is an email_click on the person; the branch reads it. A link
    scanner at delivery is recorded as a machine's and the branch stays false."""
    steps = """\
  - id: hello
    email: {subject: Hi, text: "See https://ourco.io/pricing", html: '<p><a href="https://ourco.io/pricing">Pricing</a></p>'}
  - wait: {hours: 2}
  - branch: {if: {clicked: hello}, then: warm, else: cold}
  - id: warm
    email: {subject: Glad you looked, text: Thanks.}
  - goto: end
  - id: cold
    email: {subject: "Another look?", text: Maybe later.}
"""
    with db.write() as s:
        activate_sequence(s, sequence_text("clicks", steps), clock=clock)
    clicker = _person(db, clock, "cl@acme.example")
    scanned = _person(db, clock, "sc@beta.example")
    with db.write() as s:
        nurture.enrol(s, "clicks", [(clicker, None), (scanned, None)], trigger="manual", now=clock())
    worker = sweeper(db, clock, _settings(smtp_server))
    worker.run_once()
    with db.read() as s:
        tracking = tracking_policy(s)
    claims = {}
    for address in ("cl@acme.example", "sc@beta.example"):
        (msg,) = smtp_server.inbox.to(address)
        html = msg.get_body(("html",)).get_content()
        assert "https://ourco.io/pricing" not in html and "/o/" in html  # a signed link and a pixel
        assert "/u/" in html  # the unsubscribe link is as consent made it
        token = re.search(r'href="[^"]*/r/([^"]+)"', html).group(1)  # type: ignore[union-attr]
        claims[address] = tracking.signer.read(CLICK, token)
        assert claims[address].url == "https://ourco.io/pricing"
    with db.write() as s:  # the scanner follows the link at delivery
        record_hit(
            s, claims["sc@beta.example"], Request("GET", "Mimecast scanner", "198.51.100.7"), now=clock()
        )
    clock.advance(minutes=30)
    with db.write() as s:  # the person, half an hour later, in a browser
        record_hit(s, claims["cl@acme.example"], Request("GET", BROWSER, "203.0.113.9"), now=clock())
    clock.advance(hours=2)
    worker.run_once()
    assert [str(m["Subject"]) for m in smtp_server.inbox.to("cl@acme.example")] == ["Hi", "Glad you looked"]
    assert [str(m["Subject"]) for m in smtp_server.inbox.to("sc@beta.example")] == ["Hi", "Another look?"]
    with db.read() as s:
        kinds = set(s.scalars(sa.select(Activity.type).where(Activity.type.like("email_click%"))))
    assert kinds == {"email_click", "email_click_machine"}
    # The report counts the person's click on this message (an open too), never the scanner's.
    with db.read() as s:
        (row,) = [r for r in sequence_report(s) if r.sequence == "clicks"]
    assert (row.sent, row.opened, row.clicked) == (4, 1, 1)
    assert_invariant(db)


def test_a_reply_to_a_sequence_email_read_by_mail_in_ends_the_enrolment(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """The person answers the pre-sales contact (Reply-To) and the answer reaches Leadloop through
    mail-in (the contact's BCC or synced mailbox): the reply is on the timeline and the drip stops."""
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
    pid = _person(db, clock, "ria@acme.example", first_name="Ria")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(pid, None)], trigger="manual", now=clock())
    worker = sweeper(db, clock, _settings(smtp_server))
    worker.run_once()
    (sent,) = smtp_server.inbox.to("ria@acme.example")
    reply = EmailMessage()
    reply["From"], reply["To"] = "Ria <ria@acme.example>", str(sent["Reply-To"])
    reply["Subject"], reply["In-Reply-To"] = "Re: " + str(sent["Subject"]), str(sent["Message-ID"])
    reply["Message-ID"], reply["Date"] = "<reply-1@acme.example>", format_datetime(clock())
    reply.set_content("Thanks, yes: can we talk on Thursday?")
    clock.advance(minutes=20)
    with db.write() as s:
        logged = log_mail(s, bytes(reply), now=clock(), policy=MailPolicy(frozenset({"ourco.io"})))
    assert logged.status == "logged", logged
    (e,) = enrolments(db)
    assert (e.state, e.exit_reason) == ("exited", "replied")
    clock.advance(days=3)
    worker.run_once()
    assert len(smtp_server.inbox.to("ria@acme.example")) == 1  # the second e-mail never went
    assert_invariant(db)


def test_a_reply_from_another_address_that_names_the_drip_email_ends_that_enrolment(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """Ria's colleague answers from his own address, In-Reply-To our message: Ria's drip ends (the
    reply is his activity), and another enrolment of the colleague's company goes on."""
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS), clock=clock)
    ria = _person(db, clock, "ria@acme.example", first_name="Ria")
    other = _person(db, clock, "ola@globex.example")
    with db.write() as s:
        nurture.enrol(s, "welcome", [(ria, None), (other, None)], trigger="manual", now=clock())
    sweeper(db, clock, _settings(smtp_server)).run_once()
    (sent,) = smtp_server.inbox.to("ria@acme.example")
    reply = EmailMessage()
    reply["From"], reply["To"] = "Max <max@acme.example>", str(sent["Reply-To"])
    reply["Subject"], reply["Message-ID"] = "Re: " + str(sent["Subject"]), "<reply-2@acme.example>"
    reply["In-Reply-To"] = str(sent["Message-ID"])
    reply["References"] = "<older@acme.example> " + str(sent["Message-ID"])
    reply["Date"] = format_datetime(clock())
    reply.set_content("Ria is out; I lead the evaluation. Call me.")
    with db.write() as s:
        assert (
            log_mail(s, bytes(reply), now=clock(), policy=MailPolicy(frozenset({"ourco.io"}))).status
            == "logged"
        )
    states = {e.person_id: (e.state, e.exit_reason) for e in enrolments(db)}
    assert states == {ria: ("exited", "replied"), other: ("active", None)}
    assert_invariant(db)


def test_a_link_that_came_in_with_the_persons_data_is_never_signed(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """A first name that is a URL would otherwise be signed into a redirect on our domain (an open
    redirect anyone could mint by filling in a form). Only the author's own links are tracked."""
    steps = """\
  - id: hello
    email: {subject: Hi, text: "Hi {{ first_name }}, see https://ourco.io/guide", html: '<p>Hi {{ first_name }}, <a href="https://ourco.io/guide">the guide</a></p>'}
"""
    with db.write() as s:
        activate_sequence(s, sequence_text("guide", steps), clock=clock)
    pid = _person(db, clock, "ev@acme.example", first_name="https://evil.example/login")
    with db.write() as s:
        nurture.enrol(s, "guide", [(pid, None)], trigger="manual", now=clock())
    sweeper(db, clock, _settings(smtp_server)).run_once()
    (msg,) = smtp_server.inbox.to("ev@acme.example")
    with db.read() as s:
        signer = tracking_policy(s).signer
    for part in (msg.get_body(("html",)).get_content(), msg.get_body(("plain",)).get_content()):
        signed = {signer.read(CLICK, t).url for t in re.findall(r"/r/([A-Za-z0-9._-]+)", part)}
        assert signed == {"https://ourco.io/guide"}, signed
        assert "https://evil.example/login" in part  # shown as the person's data, not redirected


def test_with_double_opt_in_the_inquiry_drip_waits_for_the_confirmation_then_sends(
    db: Database, clock: FrozenClock, smtp_server: Smtp
) -> None:
    """The person ticked the box on the form; the drip's first step comes before they click the
    confirmation link: it waits (asking again every hour) instead of ending, and goes once they did."""
    use_policy(db, double_opt_in=True)
    with db.write() as s:
        activate_sequence(s, sequence_text("welcome", TWO_MAILS, triggers="{inquiry: true}"), clock=clock)
    person = parse_person({"email": "dora@acme.example", "email_opt_in": "true", "first_name": "Dora"})
    act = parse_activity({"email": "dora@acme.example", "type": "form_submit"}, now=clock())
    with db.write() as s:  # a web form the person ticked
        pid = store_lead(s, person, act, now=clock(), source="form", explicit_consent=True)[0].person_id
    worker = sweeper(db, clock, _settings(smtp_server))
    worker.run_once()
    (e,) = enrolments(db)
    assert (e.state, e.note) == ("active", "waiting for the confirmation")
    assert smtp_server.inbox.to("dora@acme.example") == [] or all(
        "Hello" not in str(m["Subject"]) for m in smtp_server.inbox.to("dora@acme.example")
    )  # only the confirmation request so far
    token = link(db, clock, pid, "dora@acme.example", purpose=tokens.CONFIRM)
    with db.write() as s:
        confirm_subscription(s, token, now=clock())
    clock.advance(hours=1, minutes=1)
    worker.run_once()
    assert "Hello Dora" in [str(m["Subject"]) for m in smtp_server.inbox.to("dora@acme.example")]
    assert_invariant(db)
