"""Features are computed as of a sample's time with nothing from after it (issue 16, item 3): a
sample's row is built, later activities (and the contacts they bring) are appended, and the row
does not change; an earlier activity does change it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.scoring import features as F
from leadloop.scoring.repository import default_model

DAY = F.DAY
CUTOFF = 1000 * DAY
TYPES = ["demo_request", "page_view", "email_click", "webinar_attended"]
SPACE = F.FeatureSpace(TYPES, ["employees"], ["industry"])
ACCOUNT = {"employees": 120.0, "industry": "Software"}

activity = st.tuples(
    st.floats(min_value=1, max_value=800),  # days before (or after) the cut-off
    st.sampled_from(TYPES),
    st.integers(min_value=1, max_value=6),  # person
    st.sampled_from(["inbound", "outbound", ""]),
    st.integers(min_value=-1, max_value=4),  # campaign
    st.sampled_from(["", "Analytics", "Platform"]),
)
WAY = {"inbound": 1, "outbound": -1, "": 0}


def _history(
    before: list[tuple[float, str, int, str, int, str]], after: list[tuple[float, str, int, str, int, str]]
) -> F.AccountHistory:
    rows = [(7, CUTOFF - d * DAY, k, p, WAY[w], c, pr) for d, k, p, w, c, pr in before]
    rows += [
        (7, CUTOFF + (d - 1) * DAY, k, p + 10, WAY[w], c, pr) for d, k, p, w, c, pr in after
    ]  # at or after
    return F.histories(rows)[7]


CONTACTS: list[F.Contact] = [
    (p, "vp" if p % 2 else "manager", 10.0 * p, f"dept{p % 3}") for p in range(1, 17)
]


@settings(max_examples=60, deadline=None)
@given(st.lists(activity, min_size=1, max_size=30), st.lists(activity, min_size=1, max_size=30))
def test_nothing_at_or_after_the_cutoff_changes_a_row(
    before: list[tuple[float, str, int, str, int, str]], after: list[tuple[float, str, int, str, int, str]]
) -> None:
    model = default_model()
    alone = F.row(SPACE, model, _history(before, []), ACCOUNT, CONTACTS, CUTOFF)
    with_later = F.row(SPACE, model, _history(before, after), ACCOUNT, CONTACTS, CUTOFF)
    assert len(alone) == len(SPACE.names())
    for name, a, b in zip(SPACE.names(), alone, with_later, strict=True):
        same = a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, abs_tol=1e-9))
        assert same, f"{name} changed from {a} to {b} when later activities were appended"


def test_an_earlier_activity_does_change_it_and_the_features_mean_what_they_say() -> None:
    model = default_model()
    before = [
        (2.0, "demo_request", 1, "inbound", 3, "Analytics"),
        (20.0, "page_view", 2, "", -1, ""),
        (45.0, "email_click", 2, "outbound", 4, "Platform"),
        (400.0, "page_view", 3, "", -1, ""),
    ]
    row = dict(
        zip(SPACE.names(), F.row(SPACE, model, _history(before, []), ACCOUNT, CONTACTS, CUTOFF), strict=True)
    )
    assert (row["all7"], row["all30"], row["all90"]) == (1.0, 2.0, 3.0)
    assert row["n90_page_view"] == 1.0 and row["n365_page_view"] == 1.0  # the 400-day one is in neither
    assert math.isclose(row["r7_demo_request"], 0.5 ** (2 / 7))
    assert math.isclose(row["r30_page_view"], 0.5 ** (20 / 30) + 0.5 ** (400 / 30))
    assert math.isclose(row["trend"], math.log1p(2) - math.log1p(1 / 2))
    assert math.isclose(row["days_since_last"], 2.0) and math.isclose(row["days_since_first"], 400.0)
    assert (row["inbound90"], row["outbound90"], row["campaigns365"], row["products365"]) == (
        1.0,
        1.0,
        2.0,
        2.0,
    )
    # Contacts as of the cut-off: persons 1, 2, 3 had activities; 16 others exist but had none yet.
    assert row["contacts"] == 3 and row["max_seniority"] == 4 and row["best_fit"] == 30.0
    assert row["departments"] == 3
    earlier = F.row(
        SPACE,
        model,
        _history([*before, (1.0, "demo_request", 5, "inbound", -1, "")], []),
        ACCOUNT,
        CONTACTS,
        CUTOFF,
    )
    assert earlier != list(row.values())
    empty = dict(zip(SPACE.names(), F.row(SPACE, model, None, ACCOUNT, CONTACTS, CUTOFF), strict=True))
    assert empty["contacts"] == 0 and empty["best_fit"] == 0.0 and empty["days_since_last"] == 3650.0
    assert np.isclose(empty["log_employees"], math.log1p(120))
