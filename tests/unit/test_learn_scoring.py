"""Learning what the rules guess (issue 16, item 4), on deals and questions whose truth is known:
a fit model from won and lost deals that beats the rules in force on the newest deals held out,
and the half-life that ranks history best; too little history says what it needs."""

from __future__ import annotations

import random

import numpy as np

from leadloop.scoring.document import FitRule
from leadloop.scoring.learn import (
    MIN_DEALS,
    Deal,
    FitLearned,
    HalfLifeLearned,
    learn_fit,
    learn_half_life,
    learn_rules,
    with_fit,
)
from leadloop.scoring.repository import default_model


def _deals(n: int, seed: int = 5) -> list[Deal]:
    """Mining accounts of 50 to 199 people win 80%; the rules in force like Software, which wins 25%."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        industry = ("Mining", "Software", "Retail")[i % 3]
        employees = (120, 3000, 20)[(i // 3) % 3]
        p = 0.8 if industry == "Mining" else 0.25
        if employees == 120:
            p = min(0.95, p + 0.1)
        person = {"seniority": ("VP", "Manager", "Individual Contributor")[i % 2], "department": "Operations"}
        out.append(Deal(rng.random() < p, float(i), person, {"industry": industry, "employees": employees}))
    return out


def test_a_fit_model_learned_from_deals_beats_the_rules_in_force_on_held_out_deals() -> None:
    found = learn_fit(_deals(600), default_model())
    assert isinstance(found, FitLearned), found
    assert found.train + found.held_out == 600 and found.held_out == 150
    assert found.auc_learned is not None and found.auc_current is not None
    assert found.auc_learned >= found.auc_current + 0.1 and found.better
    mining = next(
        r for r in found.rules if r.when.field == "account.industry" and "Mining" in (r.when.in_ or [])
    )
    software = next(
        r for r in found.rules if r.when.field == "account.industry" and "Software" in (r.when.in_ or [])
    )
    assert mining.points > 0 > software.points and mining.reason and "learned" in mining.reason
    # The learned grades separate won from lost on the held-out deals: A wins more often than D.
    (na, wa), (nd, wd) = found.by_grade_learned["A"], found.by_grade_learned["D"]
    assert na and nd and wa / na > wd / nd
    assert found.grades["A"] > found.grades["B"] > found.grades["C"] >= 1


def test_the_model_in_force_keeps_its_exclusions() -> None:
    current = default_model()
    model = with_fit(current, learn_rules(_deals(300)), {"A": 60, "B": 40, "C": 20})
    kept = {r.id for r in model.fit.rules if r.exclude}
    assert kept == {r.id for r in current.fit.rules if r.exclude} and kept
    assert all(r.id.startswith("learned_") for r in model.fit.rules if not r.exclude)
    assert model.fit.grades == {"A": 60, "B": 40, "C": 20}
    assert model.engagement == current.engagement


def test_values_that_convert_like_the_average_get_no_rule() -> None:
    rng = random.Random(2)
    flat = [Deal(rng.random() < 0.4, float(i), {}, {"industry": ("A", "B")[i % 2]}) for i in range(400)]
    rules = learn_rules(flat)
    assert all(isinstance(r, FitRule) for r in rules) and all(abs(r.points) < 8 for r in rules)


def test_too_few_deals_or_one_outcome_say_what_is_needed() -> None:
    few = _deals(MIN_DEALS - 1)
    assert learn_fit(few, default_model()) == (
        f"learning a fit model needs at least {MIN_DEALS} closed deals, won and lost; there are {MIN_DEALS - 1} "
        f"({sum(d.won for d in few)} won)"
    )
    all_won = [Deal(True, float(i), {}, {}) for i in range(100)]
    assert "there are 100 (100 won)" in str(learn_fit(all_won, default_model()))


def test_the_half_life_that_ranks_history_best_is_found() -> None:
    """Accounts that win had a touch in the last week; the others had theirs a month or more ago, with
    more of them: a short half-life ranks them, a long one is fooled by the volume."""
    rng = np.random.default_rng(4)
    questions = []
    for i in range(400):
        if i % 2:
            ages = rng.uniform(0, 7, 2)
            questions.append((1, ages, np.full(2, 10.0)))
        else:
            ages = rng.uniform(30, 90, 6)
            questions.append((0, ages, np.full(6, 10.0)))
    found = learn_half_life(questions, 90.0)
    assert isinstance(found, HalfLifeLearned) and found.questions == 400
    assert found.best <= 14 and found.better and found.aucs[found.best] > found.aucs[90.0]
    same = learn_half_life(questions, found.best)
    assert isinstance(same, HalfLifeLearned) and not same.better  # the one in force is already best
    assert learn_half_life([(1, np.zeros(0), np.zeros(0))] * 3, 30.0) == (
        "fitting a half-life needs questions with both answers; the history has only yes answers"
    )
    assert "has none" in str(learn_half_life([], 30.0))
