"""Escalations grouped into one digest per manager per interval (routing/digest.py), and the
routing what-if's kinds of difference (routing/whatif.py): pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.routing.digest import Escalation, digest_text, group, window
from leadloop.routing.document import parse_rules
from leadloop.routing.pools import Candidate
from leadloop.routing.rules import PICKED_WHY, Decision, Facts, decide
from leadloop.routing.whatif import Change, Route, classify, read, route_of

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
UK = Route("pool uk", "pool uk")


def test_what_if_tells_a_rule_change_from_a_turn_of_the_same_pool() -> None:
    assert read(POOL) == UK and route_of(POOL) == "pool uk" and route_of(None) is None
    same = {"was": UK, "would": UK}
    assert classify(was_owner="ann@x.io", would_owner="ANN@x.io", **same) is Change.SAME
    assert classify(was_owner="ann@x.io", would_owner="bob@x.io", **same) is Change.TURN
    dora = Route("user dora@x.io", "user dora@x.io")
    assert classify(was_owner="ann@x.io", was=UK, would_owner="dora@x.io", would=dora) is Change.RULE
    # another pool that happens to hold the same people is still a rule change
    emea = Route("pool emea", "pool emea")
    assert classify(was_owner="ann@x.io", was=UK, would_owner="bob@x.io", would=emea) is Change.RULE
    # a decision recorded without a path: today's owner in the pool the rules pick now is a turn
    assert (
        classify(
            was_owner="ann@x.io",
            was=Route(),
            would_owner="bob@x.io",
            would=UK,
            pool_members=frozenset({"ann@x.io", "bob@x.io"}),
        )
        is Change.TURN
    )


def test_an_owner_set_by_hand_is_not_a_rule_change() -> None:
    kw = {
        "was_owner": "Sales inbox",
        "was": Route("fallback", "fallback"),
        "would_owner": "ann@x.io",
        "would": UK,
    }
    assert classify(**kw) is Change.RULE  # type: ignore[arg-type]
    assert classify(**kw, by_hand=True) is Change.HAND  # type: ignore[arg-type]
    assert classify(**{**kw, "would_owner": "Sales inbox"}, by_hand=True) is Change.SAME  # type: ignore[arg-type]


# The demo's rules, as far as the cases below need them: US grade B/C goes to the desk first.
DEMO_RULES = parse_rules(
    """
name: demo
fallback: {queue: Sales inbox}
pools:
  emea: {members: [{user: rep1@x.io}, {user: rep2@x.io}]}
  americas: {mode: weighted, members: [{user: rep3@x.io, weight: 2}, {user: rep4@x.io}]}
  bdrs: {members: [{user: bdr@x.io}]}
rules:
  - {name: Qualify first, when: {country: [US], grade: [B, C]}, assign: {bdr: bdrs}}
  - {name: EMEA, when: {country: [DE]}, assign: {pool: emea}}
  - {name: Americas, when: {country: [US]}, assign: {pool: americas}}
"""
)
IDS = {"rep1@x.io": 1, "rep2@x.io": 2, "rep3@x.io": 3, "rep4@x.io": 4, "bdr@x.io": 9}


def _pools(away: frozenset[str] = frozenset()) -> dict[str, list[Candidate]]:
    return {
        name: [
            Candidate(IDS[m.user], m.user, unavailable="out of office" if m.user in away else None)
            for m in pool.members
        ]
        for name, pool in DEMO_RULES.pools.items()
    }


def _replay(facts: Facts, *, away: frozenset[str] = frozenset(), past_desk: bool = False) -> Decision:
    resolve = {e: (i, None) for e, i in IDS.items()}
    return decide(DEMO_RULES, facts, sticky=None, pools=_pools(away), resolve=resolve, past_desk=past_desk)


def test_a_rep_the_bdr_picked_at_hand_over_is_a_persons_choice_not_a_rule_change() -> None:
    """The browser walks' case: the BDR hands a US lead to Rita (EMEA); on the unchanged rules the
    replay, past the desk, sends it to the Americas pool. Nobody edited a rule."""
    handed = [  # as routing/handlers.py `_picked` records it
        {"step": "qualification desk", "result": "qualified", "why": "handed over by bdr@x.io"},
        {"step": "user rep1@x.io", "result": "assigned", "why": PICKED_WHY},
    ]
    d = _replay(Facts(country="US", grade="C"), past_desk=True)
    assert d.name in ("rep3@x.io", "rep4@x.io") and read(d.path).to == "pool americas"
    was = read(handed)
    assert was.picked and not read(d.path).picked
    assert classify(was_owner="rep1@x.io", was=was, would_owner=d.name, would=read(d.path)) is Change.HAND
    # The same path with the rep named by a rule (`assign: {user: …}`) is still compared.
    by_rule = [{**step, "why": "available"} for step in handed]
    assert (
        classify(was_owner="rep1@x.io", was=read(by_rule), would_owner=d.name, would=read(d.path))
        is Change.RULE
    )


def test_a_pool_with_nobody_available_is_not_a_rule_change_either_way() -> None:
    """Routed to the EMEA pool then; today both its reps are out of office, so the replay of the
    unchanged rules reaches the fallback (and the reverse: routed while they were away)."""
    then = _replay(Facts(country="DE"))
    now = _replay(Facts(country="DE"), away=frozenset({"rep1@x.io", "rep2@x.io"}))
    assert read(then.path) == Route("pool emea", "pool emea")
    assert read(now.path) == Route("fallback", "pool emea") and read(now.path).blocked
    assert now.name == "Sales inbox"
    assert (
        classify(was_owner=then.name, was=read(then.path), would_owner=now.name, would=read(now.path))
        is Change.UNAVAILABLE
    )
    assert (
        classify(was_owner=now.name, was=read(now.path), would_owner=then.name, would=read(then.path))
        is Change.UNAVAILABLE
    )
    # One rep away is only another turn of the same pool.
    one = _replay(Facts(country="DE"), away=frozenset({then.name}))
    assert (
        classify(was_owner=then.name, was=read(then.path), would_owner=one.name, would=read(one.path))
        is Change.TURN
    )
    # But an empty pool is no excuse when the rule now points somewhere else.
    us = _replay(Facts(country="US", grade="A"))
    assert (
        classify(was_owner=now.name, was=read(now.path), would_owner=us.name, would=read(us.path))
        is Change.RULE
    )
