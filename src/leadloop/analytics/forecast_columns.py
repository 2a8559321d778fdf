"""The forecast over columns (numpy), for a warehouse with hundreds of thousands of opportunities:
forecast.py's rules (`win_rates`, `median_cycle`, `expected_close`, `probability`, `backtest`) for
every deal at once instead of one `Opp` object per deal. Pure but for `load`; a property test holds
its `Forecast` equal to the rules applied deal by deal.

Money stays exact: amounts are read as whole cents (int64) and summed per (month, currency, stage);
a stage's win probability is the same for all its deals, so the weighted amount is each group's sum
times the probability, in Decimal: the very sum of the per-deal products.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.filters import Money
from leadloop.analytics.slices import OF
from leadloop.core.arrays import Ints, factorize, group_sums, instant, moments
from leadloop.store.bulk import select_columns
from leadloop.store.tables import Opportunity, OpportunityStageChange

from . import forecast_rules as rules

_US = np.timedelta64(1, "us")


@dataclass(frozen=True)
class Deals:
    """Every opportunity (after the filters) as columns; its stage history as rows pointing at them."""

    ids: Ints
    stages: list[str]  # the stage names; `stage` holds indexes into it, -1 for none
    stage: Ints
    outcome: np.ndarray  # object: "open", "won", "lost"
    cents: Ints
    currencies: list[str]
    currency: Ints
    created: np.ndarray  # datetime64[us]
    closed: np.ndarray  # NaT when not closed
    expected: np.ndarray  # the expected close date at midnight, NaT when none
    hist_deal: Ints  # history rows (in recorded order): the deal's index
    hist_at: np.ndarray
    hist_stage: Ints  # index into `stages`


def load(session: Session, product: str | None, currency: str | None) -> Deals:
    """Two reads straight from the cursor: the opportunities' facts (amount in cents, times as text)
    and the stage history of all of them."""

    def t(c: Any) -> sa.ColumnElement[str]:
        return sa.cast(c, sa.String)

    q = sa.select(
        OF.c.opp_id,
        OF.c.stage,
        OF.c.outcome,
        sa.cast(sa.func.round(OF.c.amount * 100), sa.BigInteger),
        OF.c.currency,
        t(OF.c.created_at),
        t(OF.c.closed_at),
    ).order_by(OF.c.opp_id)
    if product is not None:
        q = q.where(OF.c.product == product)
    if currency is not None:
        q = q.where(OF.c.currency == currency)
    ids, stage, outcome, cents, cur, created, closed = select_columns(session, q)
    # The expected close dates apart (few are set): not a join per opportunity.
    dated_ids, dated_on = select_columns(
        session,
        sa.select(Opportunity.id, t(Opportunity.expected_close_on)).where(
            Opportunity.expected_close_on.is_not(None)
        ),
    )
    h = OpportunityStageChange
    hist_opp, hist_at, hist_stage = select_columns(
        session, sa.select(h.opportunity_id, t(h.at), h.stage).where(h.stage.is_not(None)).order_by(h.id)
    )
    id_arr = np.array(ids, np.int64)
    at, known = _positions(id_arr, hist_opp)
    expected = np.full(len(id_arr), np.datetime64("NaT"), dtype="datetime64[us]")
    where_dated, has_date = _positions(id_arr, dated_ids)
    expected[where_dated[has_date]] = moments(dated_on)[has_date]
    stages, codes = factorize(list(stage) + list(hist_stage))
    currencies, cur_codes = factorize(cur)
    return Deals(
        id_arr,
        stages,
        codes[: len(stage)],
        np.array(outcome, dtype=object),
        np.array(cents, np.int64),
        currencies,
        cur_codes,
        moments(created),
        moments(closed),
        expected,
        at[known].astype(np.int64),
        moments(hist_at)[known],
        codes[len(stage) :][known],
    )


def _positions(ids: Ints, wanted: list[int]) -> tuple[Ints, np.ndarray]:
    """Where each of `wanted` is in the sorted `ids`, and whether it is there at all."""
    look = np.array(wanted, np.int64)
    if not len(ids):
        return np.zeros(len(look), np.int64), np.zeros(len(look), bool)
    at = np.minimum(np.searchsorted(ids, look), len(ids) - 1)
    return at.astype(np.int64), ids[at] == look


def _closed(d: Deals, before: datetime | None = None) -> np.ndarray:
    done: np.ndarray = ((d.outcome == "won") | (d.outcome == "lost")) & ~np.isnat(d.closed)
    return done if before is None else done & (d.closed < instant(before))


def win_rates(d: Deals, closed: np.ndarray) -> tuple[dict[str, float], float | None]:
    """`rules.win_rates` over the closed deals: per stage passed while open (its history but the
    stage it closed at), won / closed, for stages with MIN_CLOSED deals or more; and overall."""
    won = d.outcome == "won"
    n_stages = len(d.stages) + 1
    sel = closed[d.hist_deal] & (d.hist_stage != d.stage[d.hist_deal])
    pairs = np.unique(d.hist_deal[sel] * n_stages + d.hist_stage[sel])
    stage, deal = pairs % n_stages, pairs // n_stages
    n = np.bincount(stage, minlength=n_stages)
    w = np.bincount(stage, weights=won[deal].astype(np.float64), minlength=n_stages)
    rates = {d.stages[s]: float(w[s]) / int(n[s]) for s in range(len(d.stages)) if n[s] >= rules.MIN_CLOSED}
    total = int(closed.sum())
    return rates, (int((won & closed).sum()) / total if total else None)


def median_cycle(d: Deals, closed: np.ndarray) -> timedelta | None:
    won = closed & (d.outcome == "won")
    if not won.any():
        return None
    seconds = (d.closed[won] - d.created[won]).astype(np.int64) / 1e6
    return timedelta(seconds=float(np.median(seconds)))


def _probabilities(d: Deals, rates: dict[str, float], overall: float | None) -> list[Decimal]:
    """Each stage index's probability (the last entry: no stage), as the rules round it."""
    p = [rates.get(s, overall or 0.0) for s in d.stages] + [overall or 0.0]
    return [Decimal(str(round(x, 6))) for x in p]


def _amount(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def expected_close(d: Deals, *, cycle: timedelta | None, now: datetime, use_close: bool = True) -> np.ndarray:
    """`rules.expected_close` for every deal: datetime64[us]."""
    after = d.created + np.timedelta64(cycle or timedelta(0)).astype("timedelta64[us]")
    at = np.where(~np.isnat(d.closed), d.closed, after) if use_close else after
    if use_close:
        at = np.where(~np.isnat(d.expected), d.expected, at)
    return np.maximum(at, instant(rules.month_start(now)))


def _month(at: np.ndarray) -> Ints:
    return at.astype("datetime64[M]").astype(np.int64)


def _month_text(m: int) -> str:
    return str(np.datetime64(m, "M"))


def _by_currency(sums: dict[int, int], d: Deals) -> dict[str, Decimal]:
    return {d.currencies[k]: _amount(v) for k, v in sums.items()}


def forecast(d: Deals, *, now: datetime, wanted: list[str], money: Money, note: str | None) -> rules.Forecast:
    closed = _closed(d)
    rates, overall = win_rates(d, closed)
    cycle = median_cycle(d, closed)
    p = _probabilities(d, rates, overall)
    is_open = d.outcome == "open"
    month = _month(expected_close(d, cycle=cycle, now=now))[is_open]
    n_cur, n_st = len(d.currencies), len(d.stages) + 1
    stage = np.where(d.stage[is_open] < 0, n_st - 1, d.stage[is_open])
    sums = group_sums((month * n_cur + d.currency[is_open]) * n_st + stage, d.cents[is_open])
    amount: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    weighted: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for key, cents in sums.items():
        rest, st = divmod(key, n_st)
        mo, cur = divmod(rest, n_cur)
        into = _month_text(mo), d.currencies[cur]
        amount[into[0]][into[1]] += _amount(cents)
        weighted[into[0]][into[1]] += _amount(cents) * p[st]
    deals = dict(zip(*(x.tolist() for x in np.unique(month, return_counts=True)), strict=True))
    won = closed & (d.outcome == "won")
    history: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for key, cents in group_sums(_month(d.closed[won]) * n_cur + d.currency[won], d.cents[won]).items():
        mo, cur = divmod(key, n_cur)
        history[_month_text(mo)][d.currencies[cur]] = _amount(cents)
    counted = {_month_text(int(k)): v for k, v in deals.items()}
    rows = [
        rules.ForecastRow(
            mo,
            counted.get(mo, 0),
            money.total(amount.get(mo, {})),
            money.total(weighted.get(mo, {})),
            money.total(history.get(f"{int(mo[:4]) - 1}{mo[4:]}", {})),
        )
        for mo in wanted
    ]
    shown = dict(rates) | ({"(any)": overall} if overall is not None else {})
    return rules.Forecast(
        money.currency,
        shown,
        cycle.total_seconds() / 86400 if cycle else None,
        rows,
        backtest(d, now=now, money=money),
        note,
    )


def stage_at(d: Deals, at: datetime) -> Ints:
    """Each deal's stage just before `at` (the last history row recorded before it), -1: none."""
    last = np.full(len(d.ids), -1, np.int64)
    rows = np.flatnonzero(d.hist_at < instant(at))
    np.maximum.at(last, d.hist_deal[rows], rows)
    found = last >= 0
    out = np.full(len(d.ids), -1, np.int64)
    out[found] = d.hist_stage[last[found]]
    return out


def backtest(d: Deals, *, now: datetime, money: Money) -> rules.Backtest:
    """`rules.backtest` over columns."""
    t1 = rules.quarter_start(now)
    t0 = rules.quarter_start(t1 - timedelta(days=1))
    before = _closed(d, before=t0)
    rates, overall = win_rates(d, before)
    p = _probabilities(d, rates, overall)
    ended = ~np.isnat(d.closed) & (d.outcome != "open") & (d.closed < instant(t0))
    pipeline = (d.created < instant(t0)) & ~ended
    due = pipeline & (expected_close(d, cycle=median_cycle(d, before), now=t0, use_close=False) < instant(t1))
    n_st = len(d.stages) + 1
    then = stage_at(d, t0)
    then = np.where(then < 0, n_st - 1, then)
    predicted: dict[str, Decimal] = defaultdict(Decimal)
    for key, cents in group_sums(d.currency[due] * n_st + then[due], d.cents[due]).items():
        cur, st = divmod(key, n_st)
        predicted[d.currencies[cur]] += _amount(cents) * p[st]
    in_quarter = (d.outcome == "won") & (d.closed >= instant(t0)) & (d.closed < instant(t1))
    from_pipeline = group_sums(d.currency[in_quarter & pipeline], d.cents[in_quarter & pipeline])
    everything = group_sums(d.currency[in_quarter], d.cents[in_quarter])
    return rules.Backtest(
        t0,
        t1,
        int(due.sum()),
        money.total(predicted),
        money.total(_by_currency(from_pipeline, d)),
        money.total(_by_currency(everything, d)),
    )
