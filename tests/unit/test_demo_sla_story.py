"""The demo's SLA history is spread over six weeks and mixes every outcome (demo/sla_story.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from leadloop.demo.sla_story import WEEKS, Outcome, Step, acted_at, plan

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_assignments_spread_over_six_weeks_with_every_outcome() -> None:
    leads = [(i, NOW - timedelta(days=400 - i)) for i in range(300)]
    steps = plan(leads, seed=7, now=NOW)
    assert [s.assign_at for s in steps] == sorted(s.assign_at for s in steps)
    assert all(NOW - timedelta(weeks=WEEKS) <= s.assign_at <= NOW for s in steps)
    weeks = Counter((NOW - s.assign_at).days // 7 for s in steps)
    assert set(weeks) == set(range(WEEKS)) and min(weeks.values()) > 20
    outcomes = Counter(s.outcome for s in steps)
    assert set(outcomes) == set(Outcome)
    late = [s for s in steps if s.outcome is Outcome.ACCEPT_LATE]
    assert all(s.after_share > 1 for s in late)
    assert plan(leads, seed=7, now=NOW) == steps  # the same seed, the same story


def test_a_lead_is_never_assigned_before_it_became_an_mql_nor_acted_on_in_the_future() -> None:
    steps = plan([(1, NOW - timedelta(hours=2))], seed=1, now=NOW)
    assert steps[0].assign_at >= NOW - timedelta(hours=2)
    late = Step(1, NOW - timedelta(minutes=60), Outcome.ACCEPT_LATE, 2.0)
    assert acted_at(late, NOW - timedelta(minutes=60), NOW + timedelta(minutes=60), NOW) is None
    assert acted_at(late, NOW - timedelta(minutes=60), NOW - timedelta(minutes=45), NOW) == NOW - timedelta(
        minutes=30
    )
    waiting = Step(1, NOW, Outcome.WAIT, 0.0)
    assert acted_at(waiting, NOW - timedelta(days=3), NOW - timedelta(days=2), NOW) is None


def test_the_desk_decides_every_way_and_its_answers_complete_the_form() -> None:
    from leadloop.demo.sla_story import DESK_MIX, Desk, answers, desk_outcome
    from leadloop.qualification.model import read_answers, require_complete
    from leadloop.routing.document import Qualification

    assert {desk_outcome(t) for t in range(len(DESK_MIX))} == set(Desk)
    assert [desk_outcome(t) for t in range(3)] == [Desk.HAND_OVER, Desk.NURTURE, Desk.HAND_OVER]
    form = Qualification()
    fields = [(f.key, list(f.choices)) for f in form.fields]
    for turn in range(4):
        given = read_answers(form, answers(fields, turn))
        require_complete(form, given)  # a hand-over needs every required answer
        assert given["budget"].choice in ("approved", "planned") and given["need"].note
    steps = plan([(i, NOW - timedelta(days=90)) for i in range(40)], seed=3, now=NOW)
    worked = [s for s in steps if s.outcome is not Outcome.WAIT]
    assert worked and all(s.desk is not None for s in worked)
    assert all(s.desk is None for s in steps if s.outcome is Outcome.WAIT)
    handed = worked[0].handed_over()
    assert worked[0].desk is not None and handed.outcome is worked[0].desk.then
