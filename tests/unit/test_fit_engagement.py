from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.scoring.decay import decay_rate
from leadloop.scoring.document import ScoringModel, parse_model
from leadloop.scoring.engagement import Signal, count_signals, explain, score_signals
from leadloop.scoring.fit import evaluate_fit

DAY = 86_400.0
T0 = 1.7e9


@pytest.fixture(scope="module")
def model() -> ScoringModel:
    return parse_model(resources.files("leadloop.scoring").joinpath("default_model.yaml").read_text())


def test_fit_adds_rules_and_explains(model: ScoringModel) -> None:
    r = evaluate_fit(
        model,
        {"seniority": "VP", "department": "Marketing", "email_kind": "corporate"},
        {"industry": "Software", "employees": 500},
    )
    assert (r.score, r.grade, r.excluded) == (90.0, "A", False)
    assert [c.rule for c in r.contributions][:2] == ["decision_maker", "target_industry"]


def test_fit_exclusion_wins_over_points(model: ScoringModel) -> None:
    r = evaluate_fit(
        model, {"seniority": "VP", "title": "MBA Student", "email_kind": "corporate"}, {"employees": 5000}
    )
    assert (r.score, r.grade, r.excluded_by) == (0.0, "D", "student")
    assert r.contributions[0].reason == "excluded: student or intern"


def test_missing_fields_do_not_match_or_crash(model: ScoringModel) -> None:
    r = evaluate_fit(model, {}, {"employees": "lots"})
    assert (r.score, r.grade) == (0.0, "D")


def test_rule_referring_to_a_rule() -> None:
    m = parse_model("""
name: refs
fit:
  rules:
    - {id: big, when: {field: account.employees, gte: 1000}, points: 10}
    - {id: big_software, when: {all: [{rule: big}, {field: account.industry, equals: software}]}, points: 50}
""")
    assert evaluate_fit(m, {}, {"employees": 5000, "industry": "Software"}).score == 60
    assert evaluate_fit(m, {}, {"employees": 50, "industry": "Software"}).score == 0


def test_caps_per_type_per_day(model: ScoringModel) -> None:
    views = [Signal(i, "page_view", T0 + i, person_id=1) for i in range(12)]
    counted = count_signals(model, views, None)
    assert [c.weight for c in counted] == [1.0] * 5 + [0.0] * 7
    next_day = [
        Signal(100, "page_view", T0 + DAY, person_id=1),
        Signal(101, "page_view", T0 + 5, person_id=2),
    ]
    assert [c.weight for c in count_signals(model, views + next_day, None)].count(1.0) == 7


def test_negative_signals_cool_the_score(model: ScoringModel) -> None:
    hot = score_signals(model, [Signal(1, "demo_request", T0)])
    cooled = score_signals(model, [Signal(1, "demo_request", T0), Signal(2, "careers_page_view", T0 + 60)])
    assert cooled.value_at(T0 + 120, decay_rate(30)) < hot.value_at(T0 + 120, decay_rate(30))


def test_per_product_weights_override() -> None:
    m = parse_model(
        "name: p\nengagement:\n  weights: {webinar_attended: 10}\n  per_product: {analytics: {webinar_attended: 30}}\n"
    )
    s = [Signal(1, "webinar_attended", T0)]
    assert score_signals(m, s, "analytics").s == 30 and score_signals(m, s, "platform").s == 10


def test_explain_lists_decayed_contributions(model: ScoringModel) -> None:
    signals = [
        Signal(1, "demo_request", T0),
        Signal(2, "pricing_page_view", T0 + 29 * DAY),
        Signal(3, "unsubscribe", T0 + 31 * DAY),
    ]
    whys = explain(model, signals, T0 + 31 * DAY)
    assert [w.type for w in whys] == ["unsubscribe", "demo_request", "pricing_page_view"]
    assert whys[0].now_worth == -20.0
    assert whys[1].now_worth == pytest.approx(
        40 * 2 ** (-31 / 30)
    )  # 40 points, a little over one half-life ago


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["demo_request", "page_view", "email_open", "webinar_attended"]),
            st.floats(0, 90 * DAY),
        ),
        max_size=40,
    )
)
def test_score_is_the_sum_of_its_explained_parts(events: list[tuple[str, float]]) -> None:
    m = parse_model(
        "name: s\nengagement:\n  weights: {demo_request: 40, page_view: 1, email_open: 0.5, webinar_attended: 15}\n  caps_per_day: {page_view: 3}\n"
    )
    signals = [Signal(i, t, T0 + at, person_id=1) for i, (t, at) in enumerate(events)]
    now = T0 + 91 * DAY
    total = sum(w.now_worth for w in explain(m, signals, now, top=10_000))
    assert score_signals(m, signals).value_at(now, decay_rate(30)) == pytest.approx(total, rel=1e-9, abs=1e-9)
