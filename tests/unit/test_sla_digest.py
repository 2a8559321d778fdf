"""Escalations grouped into one digest per manager per interval (routing/digest.py), and the
routing what-if's three kinds of difference (routing/whatif.py): pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.routing.digest import Escalation, digest_text, group, window
from leadloop.routing.whatif import Change, classify, route_of

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EVERY = timedelta(minutes=30)


def test_158_escalations_to_one_manager_in_one_sweep_are_one_digest() -> None:
    items = [Escalation(7, lead, T + timedelta(seconds=lead % 60)) for lead in range(158)]
    groups = group(items, EVERY)
    assert list(groups) == [(7, datetime(2026, 11, 2, 9, 30, tzinfo=UTC))]
    assert len(groups[(7, datetime(2026, 11, 2, 9, 30, tzinfo=UTC))]) == 158


def test_a_lead_escalated_twice_is_listed_once_and_managers_and_windows_apart() -> None:
    items = [
        Escalation(1, 10, T),
        Escalation(1, 10, T + timedelta(minutes=1)),  # the sweeper ran twice
        Escalation(2, 11, T),
        Escalation(1, 12, T + timedelta(minutes=31)),  # the next window
    ]
    groups = group(items, EVERY)
    assert {k: [e.lead_id for e in v] for k, v in groups.items()} == {
        (1, T + EVERY): [10],
        (2, T + EVERY): [11],
        (1, T + 2 * EVERY): [12],
    }


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=24 * 60))
def test_every_moment_falls_in_exactly_one_window(seconds: int, minutes: int) -> None:
    at = T + timedelta(seconds=seconds)
    start, end = window(at, timedelta(minutes=minutes))
    assert start <= at < end and end - start == timedelta(minutes=minutes)
    assert window(start, timedelta(minutes=minutes)) == (start, end)


def test_a_non_positive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        window(T, timedelta(0))


def test_the_digest_lists_every_lead_with_its_link() -> None:
    items = [Escalation(1, 5, T, "Acme · analytics", "Ann Lee", "Hot"), Escalation(1, 6, T)]
    subject, body = digest_text("Max", items, start=T, end=T + EVERY)
    assert subject == "SLA escalations: 2 leads waiting for a first touch"
    assert "- Acme · analytics · Ann Lee (Hot) · /leads/5" in body and "/leads/6" in body


POOL = [{"step": "rule UK", "result": "matched"}, {"step": "pool uk", "result": "assigned"}]


def test_what_if_tells_a_rule_change_from_a_turn_of_the_same_pool() -> None:
    assert route_of(POOL) == "pool uk" and route_of(None) is None
    same = {"was_route": "pool uk", "would_route": "pool uk"}
    assert classify(was_owner="ann@x.io", would_owner="ANN@x.io", **same) is Change.SAME
    assert classify(was_owner="ann@x.io", would_owner="bob@x.io", **same) is Change.TURN
    assert (
        classify(
            was_owner="ann@x.io", was_route="pool uk", would_owner="dora@x.io", would_route="user dora@x.io"
        )
        is Change.RULE
    )
    # another pool that happens to hold the same people is still a rule change
    assert (
        classify(was_owner="ann@x.io", was_route="pool uk", would_owner="bob@x.io", would_route="pool emea")
        is Change.RULE
    )
    # a decision recorded without a path: today's owner in the pool the rules pick now is a turn
    assert (
        classify(
            was_owner="ann@x.io",
            was_route=None,
            would_owner="bob@x.io",
            would_route="pool uk",
            pool_members=frozenset({"ann@x.io", "bob@x.io"}),
        )
        is Change.TURN
    )


def test_an_owner_set_by_hand_is_not_a_rule_change() -> None:
    kw = {
        "was_owner": "Sales inbox",
        "was_route": "fallback",
        "would_owner": "ann@x.io",
        "would_route": "pool uk",
    }
    assert classify(**kw) is Change.RULE  # type: ignore[arg-type]
    assert classify(**kw, by_hand=True) is Change.HAND  # type: ignore[arg-type]
    assert classify(**{**kw, "would_owner": "Sales inbox"}, by_hand=True) is Change.SAME  # type: ignore[arg-type]
