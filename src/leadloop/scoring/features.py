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
    """One account's activity log as sorted arrays. `direction`: +1 inbound, -1 outbound, 0 not
    said; `campaign`: campaign id or -1; `product`: the product named or "" (None: not loaded)."""

    t: npt.NDArray[np.float64]
    type: npt.NDArray[np.object_]
    person: npt.NDArray[np.int64]
    direction: npt.NDArray[np.int8] | None = None
    campaign: npt.NDArray[np.int64] | None = None
    product: npt.NDArray[np.object_] | None = None


# Recency-weighted counts per activity type at these half-lives (days), beside plain counts in
# 90- and 365-day windows; totals in 7-, 30- and 90-day windows; a trend (the last 30 days against
# the 60 before them).
HALF_LIVES = (7.0, 30.0)
WINDOWS = (7, 30, 90)


@dataclass
class FeatureSpace:
    """The columns, fixed when a model is trained so that scoring later uses the same ones."""

    activity_types: list[str]
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        acts = [f"n90_{t}" for t in self.activity_types] + [f"n365_{t}" for t in self.activity_types]
        decayed = [f"r{h:g}_{t}" for h in HALF_LIVES for t in self.activity_types]
        return [
            *acts,
            *decayed,
            "engagement",
            "days_since_last",
            "contacts",
            "max_seniority",
            "best_fit",
            *[f"all{w}" for w in WINDOWS],
            "trend",
            "days_since_first",
            "inbound90",
            "outbound90",
            "campaigns365",
            "products365",
            "departments",
            *[f"log_{n}" for n in self.numeric],
            *self.categorical,
        ]

    @property
    def n_numeric(self) -> int:
        return len(self.names()) - len(self.categorical)


def histories(
    rows: list[tuple[int, float, str, int]] | list[tuple[int, float, str, int, int, int, str]],
) -> dict[int, AccountHistory]:
    """(account_id, t, type, person_id[, direction, campaign_id, product]) -> per-account sorted arrays."""
    by: dict[int, list[tuple[object, ...]]] = defaultdict(list)
    for account, *rest in rows:
        by[account].append(tuple(rest))
    out: dict[int, AccountHistory] = {}
    for account, items in by.items():
        items.sort(key=lambda i: (i[0], str(i[1])))
        full = len(items[0]) > 3
        out[account] = AccountHistory(
            np.array([i[0] for i in items], dtype=np.float64),
            np.array([i[1] for i in items], dtype=object),
            np.array([i[2] for i in items], dtype=np.int64),
            np.array([i[3] for i in items], dtype=np.int8) if full else None,
            np.array([i[4] for i in items], dtype=np.int64) if full else None,
            np.array([i[5] for i in items], dtype=object) if full else None,
        )
    return out


Contact = tuple[int, str | None, float | None, str | None]  # person id, seniority, fit score, department


def row(
    space: FeatureSpace,
    model: ScoringModel,
    history: AccountHistory | None,
    account: dict[str, object],
    contacts: list[Contact],
    cutoff: float,
) -> list[object]:
    """One sample's features as of `cutoff` (seconds), from nothing at or after it: activities
    strictly before it, and only the contacts who had one by then."""
    rate = decay_rate(model.engagement.half_life_days)
    n = 0 if history is None else int(np.searchsorted(history.t, cutoff, side="left"))
    kinds = space.activity_types
    engagement = Decaying()
    people: set[int] = set()
    if history is None or n == 0:
        per_type = [0.0] * (len(kinds) * (2 + len(HALF_LIVES)))
        totals = [0.0] * len(WINDOWS)
        trend, days_since, days_first = 0.0, 3650.0, 3650.0
        inbound = outbound = campaigns = products = 0.0
    else:
        t, types = history.t[:n], history.type[:n]
        age = (cutoff - t) / DAY
        n90, n365 = [], []
        decayed: list[list[float]] = [[] for _ in HALF_LIVES]
        weights = [0.5 ** (age / h) for h in HALF_LIVES]
        for kind in kinds:
            of = types == kind
            n90.append(float(np.count_nonzero(of & (age <= 90))))
            n365.append(float(np.count_nonzero(of & (age <= 365))))
            for i, w in enumerate(weights):
                decayed[i].append(float(w[of].sum()))
        per_type = [*n90, *n365, *(v for d in decayed for v in d)]
        totals = [float(np.count_nonzero(age <= w)) for w in WINDOWS]
        last30 = float(np.count_nonzero(age <= 30))
        before60 = float(np.count_nonzero((age > 30) & (age <= 90)))
        trend = math.log1p(last30) - math.log1p(before60 / 2)
        days_since, days_first = float(age[-1]), float(age[0])
        recent = age <= 90
        if history.direction is not None:
            d = history.direction[:n]
            inbound = float(np.count_nonzero(recent & (d > 0)))
            outbound = float(np.count_nonzero(recent & (d < 0)))
        else:
            inbound = outbound = 0.0
        year = age <= 365
        campaigns = (
            float(len({int(c) for c in history.campaign[:n][year] if c >= 0}))
            if history.campaign is not None
            else 0.0
        )
        products = (
            float(len({str(p) for p in history.product[:n][year] if p}))
            if history.product is not None
            else 0.0
        )
        for tt, kind in zip(t, types, strict=True):
            points = weight_for(model, kind, None)
            if points:
                engagement = engagement.add(points, float(tt), rate)
        people = {int(p) for p in history.person[:n] if p >= 0}
    engaged = [c for c in contacts if c[0] in people]
    seniority = max((SENIORITY_RANK.get((c[1] or "").casefold(), 1) for c in engaged), default=0)
    best_fit = max((c[2] for c in engaged if c[2] is not None), default=0.0)
    departments = len({c[3].casefold() for c in engaged if c[3]})
    numeric = [
        math.log1p(float(v)) if isinstance(v, int | float) and v is not None else np.nan
        for v in (account.get(k) for k in space.numeric)
    ]
    return [
        *per_type,
        engagement.current(cutoff, rate),
        min(days_since, 3650.0),
        len(people),
        seniority,
        best_fit,
        *totals,
        trend,
        min(days_first, 3650.0),
        inbound,
        outbound,
        campaigns,
        products,
        departments,
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
    "days_since_first": "days since the first activity",
    "contacts": "contacts with activity",
    "max_seniority": "most senior contact",
    "best_fit": "best contact fit score",
    "all7": "activities, last 7 days",
    "all30": "activities, last 30 days",
    "all90": "activities, last 90 days",
    "trend": "activity trend (last 30 days against the 60 before)",
    "inbound90": "inbound activities, last 90 days",
    "outbound90": "outbound activities, last 90 days",
    "campaigns365": "campaigns touched, last 365 days",
    "products365": "products asked about, last 365 days",
    "departments": "departments of the contacts with activity",
}


def label(name: str) -> str:
    """A feature's name as a person reads it: "n90_pricing_page_view" -> "pricing page view, last 90 days"."""
    for prefix, window in (
        ("n90_", "last 90 days"),
        ("n365_", "last 365 days"),
        *((f"r{h:g}_", f"recency-weighted, {h:g}-day half-life") for h in HALF_LIVES),
    ):
        if name.startswith(prefix):
            return f"{name[len(prefix) :].replace('_', ' ')}, {window}"
    if name.startswith("log_"):
        return name[4:].replace("_", " ")
    return _PLAIN.get(name, name.replace("_", " "))
