"""The qualification desk's pure rules: the lifecycle's hand-over moves, the rule set's desk action
and form (checked when the rule set is saved), the BDR's answers and reasons (checked when saved),
the BDR's scope, and the brief a field rep reads."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.access.model import may_qualify, scope_for
from leadloop.auth.model import STAFF, Role
from leadloop.lifecycle.model import (
    BDR_QUEUE,
    OPEN,
    PROGRESS,
    STAGE_LABELS,
    IllegalTransition,
    Owner,
    Stage,
    Trigger,
    further,
    transition,
)
from leadloop.qualification.model import (
    Outcome,
    QualificationError,
    brief,
    firmographics,
    missing,
    read_answers,
    reason_label,
    require_complete,
)
from leadloop.routing.document import Qualification, RoutingDocumentError, parse_rules
from leadloop.routing.pools import Candidate
from leadloop.routing.rules import Facts, decide

S, T = Stage, Trigger
DESK_TRIGGERS = (T.HANDED_OVER, T.SENT_TO_NURTURE, T.DISQUALIFIED)

# The lifecycle's hand-over.


@pytest.mark.parametrize(
    ("previous", "trigger", "to", "owner"),
    [
        (S.MQL, T.HANDED_OVER, S.HANDED_OVER, Owner.GIVEN),  # routing names the field rep
        (S.MQL, T.SENT_TO_NURTURE, S.NURTURE, Owner.NURTURE),
        (S.MQL, T.DISQUALIFIED, S.RECYCLED, Owner.NURTURE),  # no lead dies: the remarketing pool
        (S.HANDED_OVER, T.ACCEPTED, S.SAL, Owner.KEEP),  # the field rep accepts it like an MQL
        (S.HANDED_OVER, T.REJECTED, S.RECYCLED, Owner.NURTURE),
        (S.HANDED_OVER, T.TOUCHED, S.HANDED_OVER, Owner.KEEP),  # the rep's first call stops the clock
        (S.HANDED_OVER, T.ROUTED, S.HANDED_OVER, Owner.GIVEN),  # a manager can still reassign it
        (S.HANDED_OVER, T.CONVERTED, S.OPPORTUNITY, Owner.KEEP),
        (S.HANDED_OVER, T.MERGED, S.MERGED, Owner.KEEP),
    ],
)
def test_the_desk_moves(previous: Stage, trigger: Trigger, to: Stage, owner: Owner) -> None:
    t = transition(previous, trigger)
    assert (t.previous, t.to, t.trigger, t.owner) == (previous, to, trigger, owner)


def test_only_an_mql_leaves_the_desk() -> None:
    """Whatever stage a lead is in, the desk's three outcomes are possible from MQL and nowhere else."""
    for previous, trigger in itertools.product([None, *Stage], DESK_TRIGGERS):
        if previous is S.MQL:
            assert transition(previous, trigger).previous is S.MQL
        else:
            with pytest.raises(IllegalTransition):
                transition(previous, trigger)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(list(Trigger)), max_size=10))
def test_any_walk_through_the_table_stays_in_known_stages(triggers: list[Trigger]) -> None:
    """A random walk of legal moves from an opened lead: every stage it reaches is in PROGRESS and has
    a label, a handed-over lead is always with sales (OPEN), and an owner rule is always said."""
    stage = transition(None, T.OPENED).to
    for trigger in triggers:
        try:
            t = transition(stage, trigger)
        except IllegalTransition:
            continue
        stage = t.to
        assert stage in PROGRESS and stage in STAGE_LABELS
        if stage is S.HANDED_OVER:
            assert stage in OPEN
            assert t.owner in (Owner.GIVEN, Owner.KEEP)


def test_handed_over_sits_between_mql_and_sal_in_every_list() -> None:
    assert further(S.HANDED_OVER, S.MQL) and further(S.SAL, S.HANDED_OVER)
    assert S.HANDED_OVER in OPEN
    assert set(STAGE_LABELS) == set(Stage) and STAGE_LABELS[S.HANDED_OVER] == "Handed over"
    order = list(Stage)
    assert order.index(S.MQL) < order.index(S.HANDED_OVER) < order.index(S.SAL)  # funnel order


# The BDR role and its scope.


def test_a_bdr_is_staff_and_sees_the_desk_queue_and_their_own() -> None:
    assert Role.BDR in STAFF
    bdr = scope_for(Role.BDR, 5, sales_queues=[9], desk_queues=[7], team_mates=[6])
    assert bdr.sees(5, None, None) and bdr.sees(None, 7, None) and bdr.sees(6, None, None)
    assert not bdr.sees(None, 9, None) and not bdr.sees(1, None, None)  # not the sales inbox, not reps'
    rep = scope_for(Role.REP, 1, sales_queues=[9], desk_queues=[7])
    assert rep.sees(None, 9, None) and not rep.sees(None, 7, None)  # reps get leads when handed over
    boss = scope_for(Role.MANAGER, 8, sales_queues=[9], desk_queues=[7])
    assert boss.sees(None, 7, None) and boss.sees(None, 9, None)


def test_who_may_qualify() -> None:
    def may(role: Role, uid: int, owner: int | None, team: int | None, chain: tuple[int, ...] = ()) -> bool:
        return may_qualify(
            role, uid, owner_user_id=owner, owner_team_id=team, desk_queue_id=7, owners_managers=chain
        )

    assert may(Role.BDR, 5, None, 7)  # any BDR takes from the BDR queue
    assert may(Role.BDR, 5, 5, None) and not may(Role.BDR, 5, 6, None)  # their own, not another's
    assert not may(Role.BDR, 5, None, 9)  # not the sales inbox
    assert may(Role.REP, 1, 1, None) and not may(Role.REP, 1, 2, None) and not may(Role.REP, 1, None, 7)
    assert may(Role.MANAGER, 8, None, 7) and may(Role.MANAGER, 8, 5, None, (8,))
    assert not may(Role.MARKETING, 3, None, 7) and may(Role.ADMIN, 2, None, 7)


# The rule set: the desk action and the form.

DESK_RULES = """\
name: with a desk
fallback: {queue: Sales inbox}
pools:
  field: {members: [{user: rita@x.io}, {user: rafa@x.io}]}
  bdrs: {members: [{user: bea@x.io}]}
rules:
  - name: Small ones to the desk
    when: {grade: [C, D]}
    assign: {bdr: queue}
  - name: Mid ones to a BDR
    when: {grade: [B]}
    assign: {bdr: bdrs}
  - name: Field sales
    assign: {pool: field}
"""
USERS = {"rita@x.io": (1, None), "rafa@x.io": (2, None), "bea@x.io": (3, None)}
POOLS = {"field": [Candidate(1, "rita@x.io"), Candidate(2, "rafa@x.io")], "bdrs": [Candidate(3, "bea@x.io")]}


def test_a_rule_sends_mqls_to_the_desk_and_says_so() -> None:
    rs = parse_rules(DESK_RULES)
    d = decide(rs, Facts(grade="C"), sticky=None, pools=POOLS, resolve=USERS)
    assert (d.kind, d.name, d.desk) == ("queue", BDR_QUEUE, True)
    assert "a BDR calls to qualify it before field sales" in d.summary
    assert d.path[-1] == {
        "step": "qualification desk",
        "result": "assigned",
        "why": f"{BDR_QUEUE}: a BDR calls to qualify it before field sales",
    }
    pooled = decide(rs, Facts(grade="B"), sticky=None, pools=POOLS, resolve=USERS)
    assert (pooled.kind, pooled.name, pooled.pool, pooled.desk) == ("user", "bea@x.io", "bdrs", True)
    assert decide(rs, Facts(grade="A"), sticky=None, pools=POOLS, resolve=USERS).pool == "field"


def test_a_qualified_lead_passes_the_desk_rules_to_field_sales() -> None:
    rs = parse_rules(DESK_RULES)
    d = decide(rs, Facts(grade="C"), sticky=None, pools=POOLS, resolve=USERS, qualified_by="bea@x.io")
    assert (d.kind, d.pool, d.desk) == ("user", "field", False)
    assert d.path[0] == {
        "step": "qualification desk",
        "result": "qualified",
        "why": "handed over by bea@x.io",
    }
    assert d.path[1]["result"] == "passed" and "qualified" in d.path[1]["why"]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("rules: [{name: x, assign: {bdr: nobody}}]", "neither `queue` (the BDR queue) nor a pool"),
        (
            "rules: [{name: x, assign: {bdr: queue, pool: a}}]",
            "exactly one of user, pool, queue, partner, bdr",
        ),
        ("qualification: {fields: []}", "between 1 and 12 fields"),
        ("qualification: {note_max: 0}", "note_max must be between 1 and 5000"),
        ("qualification: {within_minutes: -5}", "within_minutes must be a positive"),
        ("qualification: {nurture_reasons: {}}", "nurture_reasons needs at least one reason"),
        ("qualification: {disqualify_reasons: {Not A Fit: Not a fit}}", "is not a usable code"),
        (
            "qualification: {fields: [{key: budget, label: Budget, choices: {only: Only one}}]}",
            "needs at least two choices",
        ),
        (
            "qualification: {fields: [{key: b, label: B, choices: {y: Y, n: N}}, {key: b, label: C, choices: {y: Y, n: N}}]}",
            "listed twice",
        ),
        ("qualification: {fields: [{key: Budget!, label: B, choices: {y: Y, n: N}}]}", "String should match"),
        ("qualification: {colour: blue}", "colour"),
    ],
)
def test_a_bad_desk_is_refused_when_the_rule_set_is_saved(snippet: str, message: str) -> None:
    with pytest.raises(RoutingDocumentError) as err:
        parse_rules(
            f"name: x\nfallback: {{queue: Sales inbox}}\npools: {{a: {{members: [{{user: a@x.io}}]}}}}\n{snippet}\n"
        )
    assert message in str(err.value)


def test_the_desk_cannot_be_the_fallback() -> None:
    with pytest.raises(RoutingDocumentError, match="not the BDR desk"):
        parse_rules("name: x\nfallback: {bdr: queue}\n")


def test_the_default_form_is_bant_with_labels_for_people() -> None:
    form = parse_rules("name: x\nfallback: {queue: Sales inbox}\n").qualification
    assert [f.label for f in form.fields] == ["Budget", "Authority", "Need", "Timeline"]
    for labels in [f.choices for f in form.fields] + [form.nurture_reasons, form.disqualify_reasons]:
        assert all("_" not in label and label[0].isupper() for label in labels.values())


# The answers, checked when they are saved.

FORM = Qualification()


def test_answers_are_read_with_their_labels() -> None:
    got = read_answers(
        FORM, {"budget": {"choice": "approved", "note": "  €40k for Q3 "}, "need": {"choice": ""}}
    )
    assert got["budget"].as_dict() == {
        "choice": "approved",
        "label": "Budget approved",
        "note": "€40k for Q3",
    }
    assert got["need"].choice is None and got["authority"].choice is None  # every field comes back
    assert missing(FORM, got) == ["Authority", "Need", "Timeline"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"budgett": {"choice": "approved"}},
            "unknown field 'budgett'; the form's fields are: budget, authority",
        ),
        (
            {"budget": {"choice": "lots"}},
            "Budget: 'lots' is not one of the choices: approved (Budget approved)",
        ),
        ({"budget": {"note": "x" * 1001}}, "Budget: the note has 1,001 characters; keep it to 1,000"),
        ({"budget": "approved"}, "Budget: give an object with a choice and a note"),
        ({"budget": {"choice": "approved", "colour": "red"}}, "Budget: unknown key 'colour'"),
        ({"budget": {"note": 5}}, "Budget: the note must be text"),
    ],
)
def test_bad_answers_are_refused_with_a_sentence(raw: dict[str, object], message: str) -> None:
    with pytest.raises(QualificationError) as err:
        read_answers(FORM, raw)
    assert message in str(err.value)
    assert err.value.status_code == 422


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(QualificationError) as err:
        read_answers(FORM, {"budgett": {}, "need": {"choice": "maybe"}})
    assert len(err.value.problems) == 2


def test_a_hand_over_needs_every_required_answer() -> None:
    partial = read_answers(FORM, {"budget": {"choice": "approved"}, "need": {"choice": "clear"}})
    with pytest.raises(QualificationError, match="answer Authority, Timeline before handing the lead over"):
        require_complete(FORM, partial)
    full = read_answers(FORM, {f.key: {"choice": next(iter(f.choices))} for f in FORM.fields})
    require_complete(FORM, full)


@pytest.mark.parametrize(
    ("outcome", "doing"),
    [(Outcome.NURTURE, "send it back to nurture"), (Outcome.DISQUALIFIED, "disqualify it")],
)
def test_a_reason_is_required_and_read_as_a_label(outcome: Outcome, doing: str) -> None:
    reasons = FORM.nurture_reasons if outcome is Outcome.NURTURE else FORM.disqualify_reasons
    code, label = next(iter(reasons.items()))
    assert reason_label(outcome, reasons, code) == label
    for bad in (None, ""):
        with pytest.raises(QualificationError, match=f"choose a reason to {doing}: {code} \\({label}\\)"):
            reason_label(outcome, reasons, bad)
    with pytest.raises(QualificationError, match="unknown reason 'bored'"):
        reason_label(outcome, reasons, "bored")


def test_the_brief_gives_the_rep_a_reason_to_call() -> None:
    answers = read_answers(
        FORM,
        {"budget": {"choice": "approved", "note": "€40k"}, "authority": {"choice": "decision_maker"}},
    )
    firmo = firmographics({"name": "Polar Signal AB", "employees": 240, "industry": "Software", "city": None})
    assert firmo == [["Company", "Polar Signal AB"], ["Industry", "Software"], ["Employees", "240"]]
    text = brief(
        FORM, answers, firmo, note="Wants a demo on Tuesday", contact="Greta Lindqvist, VP Engineering"
    )
    assert "- Budget: Budget approved — €40k" in text and "- Authority: Decision-maker" in text
    assert "Need" not in text  # unanswered and without a note: nothing to say
    assert "From the call: Wants a demo on Tuesday" in text and "Greta Lindqvist" in text
    assert "Employees: 240" in text


def test_the_table_has_a_sentence_for_every_desk_trigger() -> None:
    for previous, trigger in itertools.product([S.WON, S.SAL], DESK_TRIGGERS):
        with pytest.raises(IllegalTransition, match="is possible only from: mql"):
            try:
                transition(previous, trigger)
            except IllegalTransition:
                raise IllegalTransition(previous, trigger, lead_id=3) from None


def test_a_lead_past_mql_is_never_sent_back_to_the_desk() -> None:
    """Reassigning a handed-over lead (its rep missed the SLA, or left) goes to field sales again."""
    rs = parse_rules(DESK_RULES)
    d = decide(
        rs, Facts(grade="C"), sticky=None, pools=POOLS, resolve=USERS, past_desk=True, exclude=frozenset({1})
    )
    assert (d.name, d.desk) == ("rafa@x.io", False)
    assert d.path[0] == {
        "step": "rule Small ones to the desk",
        "result": "passed",
        "why": "sends leads to the desk; this one is past it",
    }
