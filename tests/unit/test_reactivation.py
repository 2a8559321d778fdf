"""Recycling and reactivation as pure rules (issue 14, item 6): a cluster of activities as a
hand-raise and its window maths, the model's checks of a cluster, the earlier owner first in the
routing decision, the moves that put a lead in the remarketing pool, and the journey in words with
the dormant time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.lifecycle.journey import (
    Change,
    dormancy,
    duration,
    journey,
    last_reactivation,
    reactivated_alert,
)
from leadloop.lifecycle.model import (
    REMARKETING,
    IllegalTransition,
    Stage,
    Transition,
    Trigger,
    recycles,
    transition,
)
from leadloop.routing.document import parse_rules
from leadloop.routing.pools import Candidate
from leadloop.routing.rules import EarlierOwner, Facts, decide, earlier_blocked
from leadloop.scoring.document import Cluster, ModelDocumentError, parse_model
from leadloop.scoring.hand_raise import cluster_words, completes, in_window, raised_by

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PRICING = Cluster(type="pricing_page_view", count=3, within_days=14)
MODEL = parse_model(
    "name: m\nhand_raise:\n  clusters: [{type: pricing_page_view, count: 3, within_days: 14}]\n"
)


def _brute(history: list[tuple[datetime, int]], at: datetime, aid: int, days: float) -> int:
    return sum(1 for t, i in history if at - timedelta(days=days) <= t and (t, i) <= (at, aid))


# Hours on a month's scale, so windows of days both hold and miss.
_times = st.lists(st.integers(min_value=0, max_value=24 * 60), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(_times, st.integers(min_value=1, max_value=40), st.data())
def test_the_window_counts_exactly_the_activities_in_it(
    hours: list[int], days: int, data: st.DataObject
) -> None:
    history = sorted((NOW + timedelta(hours=h), i) for i, h in enumerate(hours, start=1))
    at, aid = data.draw(st.sampled_from(history))
    assert in_window(history, at, aid, days) == _brute(history, at, aid, days)


@settings(max_examples=100, deadline=None)
@given(_times, st.integers(min_value=1, max_value=40), st.integers(min_value=-5000, max_value=5000))
def test_the_count_depends_on_gaps_not_on_the_date(hours: list[int], days: int, shift: int) -> None:
    history = sorted((NOW + timedelta(hours=h), i) for i, h in enumerate(hours, start=1))
    moved = [(t + timedelta(hours=shift), i) for t, i in history]
    for (at, aid), (at2, _) in zip(history, moved, strict=True):
        assert in_window(history, at, aid, days) == in_window(moved, at2, aid, days)


@settings(max_examples=100, deadline=None)
@given(_times, st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=20))
def test_a_wider_window_never_counts_fewer(hours: list[int], a: int, b: int) -> None:
    history = sorted((NOW + timedelta(hours=h), i) for i, h in enumerate(hours, start=1))
    small, wide = min(a, b), max(a, b)
    for at, aid in history:
        assert in_window(history, at, aid, small) <= in_window(history, at, aid, wide)


def test_the_window_edges_and_the_order_within_one_moment() -> None:
    day = timedelta(days=1)
    history = [(NOW - 14 * day, 1), (NOW - 7 * day, 2), (NOW, 3), (NOW, 4)]
    assert in_window(history, NOW, 3, 14) == 3  # exactly 14 days earlier is inside
    assert in_window(history, NOW, 4, 14) == 4  # the second of one moment is the 4th, not a 3rd again
    assert in_window(history, NOW, 3, 13.9) == 2
    assert completes(PRICING, history, NOW, 3) == 3
    assert completes(PRICING, history[1:], NOW, 3) is None  # two within the window: below the count


def test_a_cluster_below_and_at_its_count() -> None:
    views = [(NOW - timedelta(days=10), 1), (NOW - timedelta(days=2), 2)]
    kw = {"now": NOW, "excluded_by": None}
    assert raised_by(MODEL, "pricing_page_view", views[1][0], 2, history=views, **kw) is None
    third = [*views, (NOW - timedelta(minutes=1), 3)]
    assert (
        raised_by(MODEL, "pricing_page_view", third[2][0], 3, history=third, **kw)
        == "3rd pricing page view within 14 days"
    )
    # The same three, but the first is 15 days before the third: outside the window.
    late = [(NOW - timedelta(days=15), 1), *third[1:]]
    assert raised_by(MODEL, "pricing_page_view", third[2][0], 3, history=late, **kw) is None
    # A fresh one by an excluded contact, or a stale one (an import), raises nothing.
    assert (
        raised_by(MODEL, "pricing_page_view", third[2][0], 3, history=third, now=NOW, excluded_by="student")
        is None
    )
    old = [(t - timedelta(days=30), i) for t, i in third]
    assert raised_by(MODEL, "pricing_page_view", old[2][0], 3, history=old, **kw) is None
    # A single hand-raise type needs no history.
    assert raised_by(MODEL, "trial_signup", NOW, 9, **kw) == "trial sign-up"


def test_cluster_words() -> None:
    assert cluster_words("pricing_page_view", 3, 14) == "3rd pricing page view within 14 days"
    assert cluster_words("content_download", 11, 1) == "11th content download within 1 day"
    assert cluster_words("page_view", 22, 0.5) == "22nd page view within 0.5 days"


def _problems(clusters: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ModelDocumentError) as info:
        parse_model(f"name: m\nhand_raise:\n  clusters:\n{clusters}")
    return info.value.problems


def test_a_cluster_is_checked_when_the_model_is_saved() -> None:
    assert _problems("    - {type: pricing_page_view, count: 1, within_days: 14}\n") == [
        (
            4,
            "a cluster needs a count of at least 2, not 1; for one activity, list its type in hand_raise.types",
        )
    ]
    assert _problems("    - {type: pricing_page_view, count: 3, within_days: 0}\n") == [
        (4, "within_days must be positive, not 0")
    ]
    ((line, msg),) = _problems("    - {type: pricing_visit, count: 3, within_days: 14}\n")
    assert line == 4 and "unknown activity type 'pricing_visit'" in msg and "pricing_page_view" in msg
    ((line, msg),) = _problems("    - {type: demo_request, count: 2, within_days: 14}\n")
    assert line == 4 and "demo_request is a hand-raise on its own" in msg
    twice = "    - {type: page_view, count: 5, within_days: 3}\n    - {type: page_view, count: 9, within_days: 7}\n"
    assert _problems(twice) == [(5, "a cluster of page_view is listed twice; keep one")]
    assert MODEL.hand_raise.clusters == [PRICING]
    assert parse_model(MODEL.to_yaml()) == MODEL


RULES = parse_rules(
    """\
name: r
fallback: {queue: Sales inbox}
pools:
  field:
    mode: round_robin
    members: [{user: ann@x.io, daily_cap: 2}, {user: bob@x.io}]
rules:
  - name: Everyone
    assign: {pool: field}
"""
)
USERS = {"ann@x.io": (1, None), "bob@x.io": (2, None)}


def _decide(
    earlier: EarlierOwner | None, *, ann_today: int = 0, past_desk: bool = True
) -> tuple[str, list[dict[str, str]]]:
    pools = {"field": [Candidate(1, "ann@x.io", today=ann_today, daily_cap=2), Candidate(2, "bob@x.io")]}
    d = decide(RULES, Facts(), sticky=None, pools=pools, resolve=USERS, past_desk=past_desk, earlier=earlier)
    return d.name, d.path


def test_the_earlier_owner_gets_a_reactivated_lead_first() -> None:
    name, path = _decide(EarlierOwner(1, "ann@x.io", None))
    assert name == "ann@x.io"
    assert path == [
        {
            "step": "earlier owner",
            "result": "assigned",
            "why": "ann@x.io owned it before; a reactivated lead goes back to them first",
        }
    ]


@pytest.mark.parametrize(
    ("earlier", "today", "why"),
    [
        (EarlierOwner(1, "ann@x.io", "inactive"), 0, "ann@x.io: inactive"),
        (
            EarlierOwner(1, "ann@x.io", "out of office until 2026-12-05 00:00 UTC"),
            0,
            "ann@x.io: out of office until 2026-12-05 00:00 UTC",
        ),
        (EarlierOwner(1, "ann@x.io", None), 2, "ann@x.io: daily cap reached (2/2)"),
        (
            EarlierOwner(1, "ann@x.io", None, bdr=True),
            0,
            "ann@x.io: a BDR, and a hand-raise goes straight to field sales",
        ),
    ],
)
def test_an_earlier_owner_who_cannot_take_it_is_skipped_and_the_rules_route(
    earlier: EarlierOwner, today: int, why: str
) -> None:
    name, path = _decide(earlier, ann_today=today)
    assert path[0] == {"step": "earlier owner", "result": "skipped", "why": why}
    assert path[1]["step"] == "rule Everyone"
    assert name in ("ann@x.io", "bob@x.io") and (today < 2 or name == "bob@x.io")


def test_outside_working_hours_is_not_a_reason_to_pass_the_earlier_owner_by() -> None:
    pools = {"field": [Candidate(1, "ann@x.io", unavailable="outside working hours (Sat 09:00 UTC)")]}
    assert earlier_blocked(EarlierOwner(1, "ann@x.io", None), pools) is None
    assert (
        earlier_blocked(EarlierOwner(1, "ann@x.io", None), pools, frozenset({1}))
        == "the owner it is taken from"
    )


def test_which_moves_put_a_lead_into_the_remarketing_pool() -> None:
    into = {
        (s, t)
        for s in Stage
        for t in Trigger
        if t not in (Trigger.OPENED, Trigger.IMPORTED) and _legal(s, t) and recycles(transition(s, t))
    }
    assert {t for _, t in into} == {
        Trigger.REJECTED,
        Trigger.COOLED,
        Trigger.LOST,
        Trigger.DISQUALIFIED,
        Trigger.SENT_TO_NURTURE,
    }
    assert all(s not in REMARKETING for s, _ in into)  # already in the pool: not enrolled again
    assert (Stage.MQL, Trigger.REJECTED) in into and (Stage.SAL, Trigger.LOST) in into
    assert not recycles(transition(Stage.LOST, Trigger.RECYCLED))
    assert not recycles(Transition(Stage.SAL, Stage.RECYCLED, Trigger.UNMERGED))


def _legal(s: Stage, t: Trigger) -> bool:
    try:
        transition(s, t)
    except IllegalTransition:
        return False
    return True


D = timedelta(days=1)
HISTORY = [
    Change(NOW - 200 * D, None, "inquiry", "opened", owner="Marketing nurture"),
    Change(NOW - 190 * D, "inquiry", "mql", "reached_mql"),
    Change(NOW - 190 * D, "mql", "mql", "routed", "mql: rule Everyone → pool field → ann@x.io", owner="Ann"),
    Change(NOW - 143 * D - timedelta(hours=3), "mql", "recycled", "rejected", "no_budget", by="Ann"),
    Change(
        NOW - timedelta(minutes=1),
        "recycled",
        "mql",
        "reactivated",
        "Hand-raise: trial sign-up on 2026-12-01 08:59 UTC — sent to sales at once",
    ),
    Change(NOW, "mql", "mql", "routed", "mql: earlier owner ann@x.io", owner="Ann"),
]


def test_the_dormant_time_runs_from_the_move_into_the_pool() -> None:
    stay = last_reactivation(HISTORY)
    assert stay is not None
    assert (stay.stage, stay.days, stay.trigger) == ("recycled", 143, "rejected")
    assert stay.words() == "143 days in remarketing (rejected by sales: no budget)"
    assert dormancy(HISTORY, 3) is None  # the rejection does not leave the pool
    # A lost deal recycled later is one stay, counted from the loss.
    lost = [
        Change(NOW - 90 * D, "opportunity", "lost", "lost", "opportunity OPP-7"),
        Change(NOW - 30 * D, "lost", "recycled", "recycled"),
        Change(NOW, "recycled", "mql", "reactivated"),
    ]
    stay = dormancy(lost, 2)
    assert stay is not None and stay.words() == "90 days in remarketing (lost: opportunity OPP-7)"
    cooled = [
        Change(NOW - 5 * D, "mql", "nurture", "cooled", "engagement 40.0 fell below"),
        Change(NOW, "nurture", "mql", "reactivated"),
    ]
    stay = dormancy(cooled, 1)
    assert stay is not None and stay.words() == "5 days in nurture (cooled off)"


def test_durations_in_words() -> None:
    assert [duration(x) for x in (143 * D, D, 5 * timedelta(hours=1), timedelta(minutes=59))] == [
        "143 days",
        "1 day",
        "5 hours",
        "less than an hour",
    ]


def test_the_alert_says_what_brought_it_back_and_after_how_long() -> None:
    assert (
        reactivated_alert("trial sign-up", "Jane Roe", "Acme · analytics", last_reactivation(HISTORY))
        == "Reactivated: trial sign-up by Jane Roe brought back Acme · analytics after 143 days in remarketing"
        " (rejected by sales: no budget)"
    )
    assert reactivated_alert("demo request", None, "Acme · analytics", None) == (
        "Reactivated: demo request brought back Acme · analytics"
    )


def test_the_journey_is_words_with_no_codes() -> None:
    steps = journey(HISTORY)
    assert [(s.what, s.detail, s.by) for s in steps] == [
        ("Opened", "owned by Marketing nurture", None),
        ("Became an MQL", None, None),
        ("Assigned to Ann", None, None),
        ("Rejected by sales", "No budget", "Ann"),
        (
            "Reactivated after 143 days in remarketing (rejected by sales: no budget)",
            "Hand-raise: trial sign-up on 2026-12-01 08:59 UTC — sent to sales at once",
            None,
        ),
        ("Assigned to Ann", None, None),
    ]
    words = " ".join(f"{s.what} {s.detail or ''}" for s in steps)
    assert "_" not in words
