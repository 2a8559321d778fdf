"""A lead's expected value: its probability of a won deal times the deal size expected for its
account and product, learned from won deals (issue 16, item 5; seed 002: "identify its potential
value to the company").

The size is the median won amount of the finest group with enough deals: the same product at
accounts of the same size band, else the product, else the size band, else every won deal. Those
group medians are used only if, on the newest quarter of won deals held out, they miss the actual
amount by less than the plain median of all won deals does; otherwise every lead gets that one
median. Too few won deals with an amount: no value at all, and the reason says how many more.
Pure: deals in, sizes out; amounts already in one currency (`in_currency`)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

MIN_DEALS = 10  # won deals with an amount before any size is estimated
MIN_GROUP = 5  # won deals in a group before its own median is used
MIN_HELD_OUT = 5  # held-out deals needed to judge the group medians against the plain one
BANDS = ((50, "1–49"), (250, "50–249"), (1000, "250–999"))


def band(employees: int | None) -> str:
    if employees is None or employees <= 0:
        return "unknown size"
    for upper, name in BANDS:
        if employees < upper:
            return name
    return "1000+"


@dataclass(frozen=True)
class WonDeal:
    product: str
    band: str
    amount: float
    closed_at: datetime


@dataclass(frozen=True)
class Currency:
    """Values are stated in `into`; `rates` give units of `into` per unit of another currency
    (settings: default_currency, fx_rates)."""

    into: str = "USD"
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def exact(self, amount: Decimal, currency: str | None) -> Decimal | None:
        """`amount` in `into` as money (a sum a person reads), or None when no rate says how (that
        deal is left out, not guessed)."""
        if currency is None or currency == self.into:
            return amount
        rate = self.rates.get(currency)
        return None if rate is None else amount * rate

    def convert(self, amount: Decimal, currency: str | None) -> float | None:
        """The same as a float, for statistics over deal sizes (medians, errors)."""
        value = self.exact(amount, currency)
        return None if value is None else float(value)


@dataclass(frozen=True)
class Sizes:
    """Median won amount per group; `grouped` says whether the groups beat the plain median."""

    overall: float
    deals: int
    groups: dict[tuple[str, ...], tuple[float, int]] = field(default_factory=dict)
    grouped: bool = False
    error_grouped: float | None = None  # median |ln(estimate / actual)| on the held-out deals
    error_overall: float | None = None

    def estimate(self, product: str, size_band: str) -> tuple[float, str]:
        """(size, where it comes from, in words)."""
        if self.grouped:
            for key, words in (
                (("p", product, size_band), f"for {product} at accounts of {size_band} employees"),
                (("p", product), f"for {product}"),
                (("b", size_band), f"at accounts of {size_band} employees"),
            ):
                if key in self.groups:
                    value, n = self.groups[key]
                    return value, f"median of {n:,} won deals {words}"
        return self.overall, f"median of all {self.deals:,} won deals"

    def lines(self) -> list[str]:
        if self.error_grouped is None or self.error_overall is None:
            how = "too few recent won deals to judge the groups: the median of all is used"
        elif self.grouped:
            how = (
                f"the product and size groups' medians miss held-out deals by a typical factor of "
                f"{math.exp(self.error_grouped):.2f}, the plain median by {math.exp(self.error_overall):.2f}: "
                "groups used"
            )
        else:
            how = (
                f"the product and size groups' medians (typical miss ×{math.exp(self.error_grouped):.2f}) do "
                f"not beat the median of all won deals (×{math.exp(self.error_overall):.2f}) on held-out deals: "
                "the median of all is used"
            )
        return [f"Expected deal size from {self.deals:,} won deals: {how}."]


def _medians(deals: Sequence[WonDeal]) -> dict[tuple[str, ...], tuple[float, int]]:
    by: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for d in deals:
        by[("p", d.product, d.band)].append(d.amount)
        by[("p", d.product)].append(d.amount)
        by[("b", d.band)].append(d.amount)
    return {k: (statistics.median(v), len(v)) for k, v in by.items() if len(v) >= MIN_GROUP}


def _miss(estimates: Sequence[float], actual: Sequence[float]) -> float:
    return statistics.median(abs(math.log(e / a)) for e, a in zip(estimates, actual, strict=True))


def fit(deals: Sequence[WonDeal]) -> Sizes | str:
    """The sizes, or why there are none."""
    usable = sorted((d for d in deals if d.amount > 0), key=lambda d: d.closed_at)
    if len(usable) < MIN_DEALS:
        need = MIN_DEALS - len(usable)
        return f"no expected value: it needs {need} more won deal{'s' if need > 1 else ''} with an amount"
    cut = len(usable) - max(MIN_HELD_OUT, len(usable) // 4)
    older, newer = usable[:cut], usable[cut:]
    error_grouped = error_overall = None
    grouped = False
    if len(older) >= MIN_DEALS and len(newer) >= MIN_HELD_OUT:
        trial = Sizes(statistics.median(d.amount for d in older), len(older), _medians(older), grouped=True)
        actual = [d.amount for d in newer]
        error_grouped = _miss([trial.estimate(d.product, d.band)[0] for d in newer], actual)
        error_overall = _miss([trial.overall] * len(newer), actual)
        grouped = error_grouped < error_overall
    return Sizes(
        statistics.median(d.amount for d in usable),
        len(usable),
        _medians(usable),
        grouped=grouped,
        error_grouped=error_grouped,
        error_overall=error_overall,
    )
