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
