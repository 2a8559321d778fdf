"""Features for the predictive model, as of a cut-off moment, from whatever the warehouse holds.

Nothing here knows the simulator's vocabulary: activity types are the ones present in the log,
categories are whichever values occur, numbers are whichever firmographics are filled. Everything
is measured strictly before the cut-off, so a backtest never sees the future.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from leadloop.scoring.decay import Decaying, decay_rate
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.engagement import weight_for

DAY = 86_400.0
NUMERIC_ACCOUNT = ("employees", "annual_revenue", "sites")
CATEGORICAL_ACCOUNT = ("industry", "country", "sic_code")
SENIORITY_RANK = {
    "c-level": 5,
    "vp": 4,
    "director": 3,
    "head": 3,
    "manager": 2,
    "individual contributor": 1,
    "intern": 0,
}


@dataclass
class AccountHistory:
    """One account's activity log as sorted arrays."""

    t: npt.NDArray[np.float64]
    type: npt.NDArray[np.object_]
    person: npt.NDArray[np.int64]


@dataclass
class FeatureSpace:
    """The columns, fixed when a model is trained so that scoring later uses the same ones."""

    activity_types: list[str]
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        acts = [f"n90_{t}" for t in self.activity_types] + [f"n365_{t}" for t in self.activity_types]
        return [
            *acts,
            "engagement",
            "days_since_last",
            "contacts",
            "max_seniority",
            "best_fit",
            *[f"log_{n}" for n in self.numeric],
            *self.categorical,
        ]

    @property
    def n_numeric(self) -> int:
        return len(self.names()) - len(self.categorical)


def histories(rows: list[tuple[int, float, str, int]]) -> dict[int, AccountHistory]:
    """(account_id, t, type, person_id) -> per-account sorted arrays."""
    by: dict[int, list[tuple[float, str, int]]] = defaultdict(list)
    for account, t, kind, person in rows:
        by[account].append((t, kind, person))
    out: dict[int, AccountHistory] = {}
    for account, items in by.items():
        items.sort()
        out[account] = AccountHistory(
            np.array([i[0] for i in items]),
            np.array([i[1] for i in items], dtype=object),
            np.array([i[2] for i in items], dtype=np.int64),
        )
    return out


def row(
    space: FeatureSpace,
    model: ScoringModel,
    history: AccountHistory | None,
    account: dict[str, object],
    contacts: list[tuple[str | None, float | None]],
    cutoff: float,
) -> list[object]:
    """One sample's features as of `cutoff` (seconds)."""
    rate = decay_rate(model.engagement.half_life_days)
    counts90 = dict.fromkeys(space.activity_types, 0.0)
    counts365 = dict.fromkeys(space.activity_types, 0.0)
    engagement = Decaying()
    days_since = 3650.0
    people: set[int] = set()
    if history is not None:
        n = int(np.searchsorted(history.t, cutoff, side="left"))  # strictly before the cut-off
        for t, kind, person in zip(history.t[:n], history.type[:n], history.person[:n], strict=True):
            age = cutoff - t
            if kind in counts365 and age <= 365 * DAY:
                counts365[kind] += 1
                if age <= 90 * DAY:
                    counts90[kind] += 1
            w = weight_for(model, kind, None)
            if w:
                engagement = engagement.add(w, t, rate)
            if person >= 0:
                people.add(int(person))
        if n:
            days_since = (cutoff - float(history.t[n - 1])) / DAY
    seniority = max((SENIORITY_RANK.get((s or "").casefold(), 1) for s, _ in contacts), default=0)
    best_fit = max((f for _, f in contacts if f is not None), default=0.0)
    numeric = [
        math.log1p(float(v)) if isinstance(v, int | float) and v is not None else np.nan
        for v in (account.get(k) for k in space.numeric)
    ]
    return [
        *counts90.values(),
        *counts365.values(),
        engagement.current(cutoff, rate),
        min(days_since, 3650.0),
        len(people),
        seniority,
        best_fit,
        *numeric,
        *[str(account.get(c) or "") for c in space.categorical],
    ]


def choose_space(histories_: dict[int, AccountHistory], accounts: list[dict[str, object]]) -> FeatureSpace:
    """The activity types that occur, and the firmographics that are filled on at least 20% of accounts."""
    kinds: set[str] = set()
    for h in histories_.values():
        kinds.update(str(k) for k in h.type)

    def filled(k: str) -> bool:
        return sum(1 for a in accounts if a.get(k) not in (None, "")) >= 0.2 * max(1, len(accounts))

    return FeatureSpace(
        sorted(kinds),
        [k for k in NUMERIC_ACCOUNT if filled(k)],
        [k for k in CATEGORICAL_ACCOUNT if filled(k)],
    )


_PLAIN = {
    "engagement": "engagement score (decayed)",
    "days_since_last": "days since the last activity",
    "contacts": "contacts with activity",
    "max_seniority": "most senior contact",
    "best_fit": "best contact fit score",
}


def label(name: str) -> str:
    """A feature's name as a person reads it: "n90_pricing_page_view" -> "pricing page view, last 90 days"."""
    for prefix, window in (("n90_", "last 90 days"), ("n365_", "last 365 days")):
        if name.startswith(prefix):
            return f"{name[len(prefix) :].replace('_', ' ')}, {window}"
    if name.startswith("log_"):
        return name[4:].replace("_", " ")
    return _PLAIN.get(name, name.replace("_", " "))
