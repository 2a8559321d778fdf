"""The pure parts of a matcher refit: a stored model read back exactly or refused with the reason,
and the what-if's bands, moves and examples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from leadloop.identity.fitted import (
    DEFAULT_MODEL,
    PARAMS_VERSION,
    CorruptMatchModel,
    StaleMatchModel,
    model_from_json,
    model_to_json,
)
from leadloop.identity.refit_whatif import bands, what_if


def test_a_stored_model_reads_back_as_it_was_written() -> None:
    model = DEFAULT_MODEL.covering([])
    model.m["phone"] = np.array([0.2, 0.1, 0.7])
    model.prior = 1e-5
    back = model_from_json(model_to_json(model))
    assert back.prior == 1e-5 and back.m["phone"].tolist() == [0.2, 0.1, 0.7]
    assert {f: v.tolist() for f, v in back.u.items()} == {f: v.tolist() for f, v in model.u.items()}


def test_a_field_the_stored_model_lacks_keeps_the_default() -> None:
    data = model_to_json(DEFAULT_MODEL)
    del data["m"]["city"]
    assert model_from_json(data).m["city"].tolist() == DEFAULT_MODEL.m["city"].tolist()


def _broken(**change: Any) -> dict[str, Any]:
    data = model_to_json(DEFAULT_MODEL)
    for key, value in change.items():
        side, _, field = key.partition("__")
        if field:
            data[side][field] = value
        else:
            data[side] = value
    return data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (["not", "an", "object"], "its parameters are not an object"),
        (_broken(m=None), "its m probabilities are missing"),
        (_broken(m__first=[0.5, 0.5]), "its m of first should be 5 levels"),
        (_broken(u__phone=[0.5, "x", 0.5]), "its u of phone holds something that is not a number"),
        (_broken(u__phone=[0.0, 0.5, 0.5]), "are not probabilities above 0 that sum to about 1"),
        (_broken(u__phone=[0.9, 0.9, 0.9]), "are not probabilities above 0 that sum to about 1"),
        (_broken(m__email=[0.5, float("nan"), 0.25, 0.25]), "are not probabilities above 0"),
        (_broken(prior=1.5), "its prior 1.5 is not a probability between 0 and 1"),
        (_broken(prior=True), "its prior True is not a probability"),
    ],
)
def test_a_corrupted_model_is_refused_with_the_reason(data: Any, reason: str) -> None:
    with pytest.raises(CorruptMatchModel, match=reason):
        model_from_json(data)


def test_a_model_of_older_comparison_levels_is_stale_not_corrupt() -> None:
    with pytest.raises(
        StaleMatchModel, match=f"version 1, this version compares with version {PARAMS_VERSION}"
    ):
        model_from_json(_broken(version=1))


def test_bands_are_what_capture_and_the_warehouse_pass_do() -> None:
    p = np.array([0.1, 0.8, 0.9, 0.995, 1.0])
    assert bands(p, review=0.8, auto_merge=0.995).tolist() == [0, 1, 1, 2, 2]


def test_the_what_if_counts_bands_and_moves_and_shows_the_largest_changes_first() -> None:
    before = np.array([0.5, 0.9, 0.85, 0.999, 0.999, 0.9, 0.2, 0.3])
    after = np.array([0.999, 0.997, 0.9, 0.9, 0.1, 0.3, 0.2, 0.85])
    wi = what_if(before, after, review=0.8, auto_merge=0.995, examples=1)
    assert wi.pairs == 8
    assert wi.before == {"apart": 3, "review": 3, "merge": 2}
    assert wi.after == {"apart": 3, "review": 3, "merge": 2}
    moves = {m.name: (m.count, m.examples) for m in wi.moves}
    assert moves == {
        "now merge automatically": (2, (0,)),  # 0.5 → 0.999 moved more than 0.9 → 0.997
        "now wait for review": (1, (7,)),
        "wait for review instead of merging": (1, (3,)),
        "no longer match": (2, (4,)),  # 0.999 → 0.1 before 0.9 → 0.3
    }
    assert wi.changed == 6  # pairs 2 and 6 stayed in their bands


def test_the_same_model_changes_nothing() -> None:
    p = np.array([0.1, 0.9, 0.999])
    wi = what_if(p, p, review=0.8, auto_merge=0.995)
    assert wi.changed == 0 and all(m.examples == () for m in wi.moves)
    assert wi.before == wi.after == {"apart": 1, "review": 1, "merge": 1}


def test_both_models_must_score_the_same_pairs() -> None:
    with pytest.raises(ValueError, match="the same pairs"):
        what_if(np.zeros(2), np.zeros(3), review=0.8, auto_merge=0.995)
