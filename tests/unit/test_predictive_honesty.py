"""Honesty first (issue 16): the model's probability is shown only when it beats the rules and a
no-training recency count on held-out time by a stated margin; otherwise a sentence says why."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from leadloop.scoring import features as F
from leadloop.scoring.predictive import (
    MARGIN_SHOWN,
    RECENCY_HALF_LIFE_DAYS,
    Report,
    Sample,
    Warehouse,
    judge,
    recency,
    rolling,
    verdict,
)
from tests.unit.test_predictive_learners import SPACE, _matrix

DAY = F.DAY


def test_the_model_is_shown_only_when_it_wins_by_the_margin() -> None:
    assert verdict(0.75, {"rules": 0.70, "recency": 0.72}, 400) is None
    off = verdict(0.73, {"rules": 0.70, "recency": 0.72}, 400)
    assert off is not None and "no better than recent activity alone" in off and "400 so far" in off
    assert "0.730 against 0.720" in off and str(MARGIN_SHOWN) in off
    tied = verdict(0.70 + MARGIN_SHOWN - 1e-9, {"rules": 0.70}, 50)
    assert tied is not None and "the current rules" in tied
    assert "could not be compared" in (verdict(0.9, {}, 12) or "")


@given(
    st.floats(0, 1),
    st.dictionaries(st.sampled_from(["rules", "recency"]), st.floats(0, 1), min_size=1),
)
def test_shown_means_every_baseline_is_beaten_by_the_margin(
    model: float, baselines: dict[str, float]
) -> None:
    shown = verdict(model, baselines, 100) is None
    assert shown == all(model >= b + MARGIN_SHOWN for b in baselines.values())


def test_recency_halves_every_thirty_days_and_ignores_the_future() -> None:
    cutoff = 1000 * DAY
    h = F.AccountHistory(
        np.array([cutoff - RECENCY_HALF_LIFE_DAYS * DAY, cutoff - 1.0, cutoff + DAY]),
        np.array(["page_view", "demo_request", "call"], dtype=object),
        np.array([1, 1, 1]),
    )
    assert abs(recency(h, cutoff) - (0.5 + 0.5 ** (1 / (RECENCY_HALF_LIFE_DAYS * DAY)))) < 1e-9
    assert recency(None, cutoff) == 0.0


def _world(n: int) -> tuple[Warehouse, list[Sample]]:
    items = [Sample(i, float(i) * DAY, None, float(i) * DAY, None) for i in range(n)]
    return Warehouse({}, {}, {}), items


def test_a_learner_that_sees_what_the_rules_miss_is_shown() -> None:
    x, y = _matrix(900, rules_matter=False)
    wh, items = _world(len(y))
    report = Report(0, 0, 0.5, 0.5, 0.5)
    report.rolling = rolling(wh, SPACE, x, y, items, "logistic")
    judge(report, len(y))
    assert len(report.rolling) == 3 and report.shown, report.rolling


def test_a_model_that_only_copies_the_rules_is_kept_off() -> None:
    x, _ = _matrix(900, rules_matter=True)
    rng = np.random.default_rng(11)
    engagement = x[:, SPACE.names().index("engagement")].astype(float)
    # the truth is engagement alone: nothing a learner adds can beat the rules' own order
    y = (rng.uniform(size=len(x)) < 1 / (1 + np.exp(-(engagement - 30) / 15))).astype(int)
    wh, items = _world(len(y))
    report = Report(0, 0, 0.5, 0.5, 0.5)
    report.rolling = rolling(wh, SPACE, x, y, items, "rules")
    judge(report, len(y))
    assert report.off is not None and "the current rules" in report.off
