"""Choosing the learner by time-ordered cross-validation, and explaining a probability by its
features, on synthetic matrices whose truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from leadloop.scoring import features as F
from leadloop.scoring.predictive import Report, Trained, _fit, estimator, reference_row, select, why

SPACE = F.FeatureSpace(["demo_request"], ["employees"], ["industry"])


def _matrix(n: int, *, rules_matter: bool, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Columns by SPACE.names(); the ones not set here are zero."""
    rng = np.random.default_rng(seed)
    employees = rng.normal(5, 1.5, n)
    industry = rng.choice(["Software", "Retail", "Mining"], n)
    engagement = rng.exponential(30, n)
    best_fit = rng.uniform(0, 100, n)
    if rules_matter:
        logit = (best_fit - 50) / 12 + (engagement - 30) / 15
    else:  # the truth is in size and industry, which the rule scores do not see
        logit = 1.6 * (employees - 5) + np.where(industry == "Software", 1.5, -0.5)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    names = SPACE.names()
    x = np.zeros((n, len(names)), dtype=object)
    column = {
        "n90_demo_request": rng.poisson(1, n),
        "engagement": engagement,
        "days_since_last": rng.uniform(0, 30, n),
        "contacts": 3,
        "max_seniority": 2,
        "best_fit": best_fit,
        "log_employees": employees,
        "industry": industry,
    }
    for name, values in column.items():
        x[:, names.index(name)] = values
    x[:, names.index("n365_demo_request")] = x[:, names.index("n90_demo_request")]
    return x, y


@pytest.mark.slow
def test_cross_validation_prefers_a_learner_when_the_rules_miss_the_signal() -> None:
    x, y = _matrix(1200, rules_matter=False)
    learner, cv = select(SPACE, x, y)
    assert learner in ("logistic", "gbm")
    assert cv[learner] > cv["rules"] + 0.1


@pytest.mark.slow
def test_cross_validation_keeps_the_calibrated_rules_when_they_carry_the_signal() -> None:
    x, y = _matrix(300, rules_matter=True)
    learner, cv = select(SPACE, x, y)
    assert cv["rules"] >= max(cv.values()) - 0.02
    assert learner == "rules" or cv[learner] - cv["rules"] <= 0.02


def test_why_names_the_features_that_move_the_probability() -> None:
    x, y = _matrix(1500, rules_matter=False)
    pipe = _fit(estimator(SPACE, kind="logistic", n=len(y)), x, y)
    trained = Trained(pipe, SPACE, Report(0, 0, 0.5, 0.5, 0.5), len(y), reference=reference_row(SPACE, x))
    emp, ind = SPACE.names().index("log_employees"), SPACE.names().index("industry")
    typical = trained.reference[ind]
    other = "Mining" if typical == "Software" else "Software"
    row = x[:1].copy()
    row[0, emp], row[0, ind] = 6.0, other  # larger than typical, and of another industry
    (reasons,) = why(trained, row)
    named = {str(r[0]): float(str(r[1])) for r in reasons}
    assert reasons[0][0] == "employees" and named["employees"] > 0.1
    assert "industry" in named and (named["industry"] > 0) == (other == "Software")
    small = x[:1].copy()
    small[0, emp], small[0, ind] = 3.0, typical
    (down,) = why(trained, small)
    assert down[0][0] == "employees" and float(str(down[0][1])) < -0.1
    assert "industry" not in {r[0] for r in down}  # already typical: it explains nothing


def test_labels_read_as_words() -> None:
    assert F.label("n90_pricing_page_view") == "pricing page view, last 90 days"
    assert F.label("log_annual_revenue") == "annual revenue"
    assert F.label("best_fit") == "best contact fit score"
    assert F.label("r7_demo_request") == "demo request, recency-weighted, 7-day half-life"
    assert F.label("trend") == "activity trend (last 30 days against the 60 before)"
