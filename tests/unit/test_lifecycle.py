"""The lifecycle's table: every legal move, every refusal, and the sentence a person sees."""

from __future__ import annotations

import itertools

import pytest

from leadloop.lifecycle.model import (
    CLOSED,
    FROM,
    OPEN,
    IllegalTransition,
    Owner,
    Stage,
    Trigger,
    restore,
    transition,
)

S, T = Stage, Trigger


@pytest.mark.parametrize(
    ("previous", "trigger", "to", "owner"),
    [
        (None, T.OPENED, S.INQUIRY, Owner.NURTURE),
        (S.INQUIRY, T.REACHED_MQL, S.MQL, Owner.KEEP),
        (S.RECYCLED, T.REACHED_MQL, S.MQL, Owner.KEEP),  # no lead dies: interest brings it back
        (S.MQL, T.COOLED, S.NURTURE, Owner.NURTURE),
        (S.MQL, T.ROUTED, S.MQL, Owner.GIVEN),
        (S.MQL, T.ACCEPTED, S.SAL, Owner.KEEP),
        (S.SQL, T.ACCEPTED, S.SQL, Owner.KEEP),  # accepting again never demotes
        (S.SAL, T.REJECTED, S.RECYCLED, Owner.NURTURE),
        (S.SAL, T.QUALIFIED, S.SQL, Owner.KEEP),
        (S.SQL, T.CONVERTED, S.OPPORTUNITY, Owner.KEEP),
        (S.OPPORTUNITY, T.WON, S.WON, Owner.KEEP),
        (S.WON, T.CONVERTED, S.OPPORTUNITY, Owner.KEEP),  # the CRM reopened the deal
        (S.LOST, T.RECYCLED, S.RECYCLED, Owner.NURTURE),
        (S.LOST, T.REACTIVATED, S.MQL, Owner.NURTURE),
        (S.SAL, T.MERGED, S.MERGED, Owner.KEEP),
    ],
)
def test_legal_moves(previous: Stage | None, trigger: Trigger, to: Stage, owner: Owner) -> None:
    t = transition(previous, trigger)
    assert (t.previous, t.to, t.trigger, t.owner) == (previous, to, trigger, owner)


@pytest.mark.parametrize(
    ("previous", "trigger"),
    [
        (S.WON, T.ACCEPTED),
        (S.INQUIRY, T.ACCEPTED),
        (S.NURTURE, T.REJECTED),
        (S.MERGED, T.WON),
        (S.MERGED, T.MERGED),
        (S.SAL, T.OPENED),
        (None, T.REACHED_MQL),
        (S.OPPORTUNITY, T.COOLED),
    ],
)
def test_illegal_moves_are_refused(previous: Stage | None, trigger: Trigger) -> None:
    with pytest.raises(IllegalTransition):
        transition(previous, trigger)


def test_the_refusal_says_what_and_from_where() -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(S.WON, T.ACCEPTED)
    err2 = IllegalTransition(S.WON, T.ACCEPTED, lead_id=12)
    assert str(err2) == "lead #12 is won; accepting it is possible only from: handed_over, mql, sal, sql"
    assert err.value.status_code == 422


def test_the_from_table_agrees_with_the_transitions_for_every_pair() -> None:
    """FROM (used in refusals and docs) is derived by hand: it must say exactly what the table does."""
    for previous, trigger in itertools.product([None, *Stage], Trigger):
        try:
            transition(previous, trigger)
            legal = True
        except IllegalTransition:
            legal = False
        expected = previous in FROM[trigger] if previous is not None else trigger is T.OPENED
        if trigger in (T.UNMERGED, T.IMPORTED):
            expected = False  # restore() and carry_over() decide these, never the table
        assert legal == expected, (previous, trigger)


def test_closed_leads_take_no_sales_moves() -> None:
    for stage, trigger in itertools.product(CLOSED, (T.ACCEPTED, T.REJECTED, T.TOUCHED, T.COOLED)):
        with pytest.raises(IllegalTransition):
            transition(stage, trigger)
    assert OPEN.isdisjoint(CLOSED)
    with pytest.raises(IllegalTransition):  # a merged lead has handed on: nobody owns it any more
        transition(S.MERGED, T.ROUTED)
    assert transition(S.WON, T.ROUTED).to is S.WON  # a won deal can change hands (a rep leaves)


def test_an_unmerge_restores_whatever_the_snapshot_holds() -> None:
    t = restore(S.MERGED, S.SAL)
    assert (t.previous, t.to, t.trigger) == (S.MERGED, S.SAL, T.UNMERGED)
