"""Engagement (implicit) scoring: weighted activities per product, capped per type per day, with
negative signals, decaying with the model's half-life. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from leadloop.scoring.decay import Decaying, decay_rate
from leadloop.scoring.document import ScoringModel


@dataclass(frozen=True, slots=True)
class Signal:
    """One activity as engagement sees it. `at` is seconds since the epoch."""

    id: int
    type: str
    at: float
    person_id: int | None = None
    product: str | None = None


@dataclass(frozen=True, slots=True)
class Counted:
    signal: Signal
    weight: float  # 0 when over the day's cap


def weight_for(model: ScoringModel, activity_type: str, product: str | None) -> float:
    e = model.engagement
    if product and product in e.per_product and activity_type in e.per_product[product]:
        return e.per_product[product][activity_type]
    return e.weights.get(activity_type, 0.0)


def count_signals(model: ScoringModel, signals: Iterable[Signal], product: str | None) -> list[Counted]:
    """Weights in time order, each (person, type, UTC day) counted up to its cap."""
    caps = model.engagement.caps_per_day
    seen: Counter[tuple[int | None, str, int]] = Counter()
    out: list[Counted] = []
    for s in sorted(signals, key=lambda s: (s.at, s.id)):
        w = weight_for(model, s.type, product or s.product)
        if w == 0:
            continue
        cap = caps.get(s.type)
        if cap is not None:
            day = (s.person_id, s.type, int(s.at // 86_400))
            seen[day] += 1
            if seen[day] > cap:
                w = 0.0
        out.append(Counted(s, w))
    return out


def score_signals(model: ScoringModel, signals: Iterable[Signal], product: str | None = None) -> Decaying:
    rate = decay_rate(model.engagement.half_life_days)
    score = Decaying()
    for c in count_signals(model, signals, product):
        if c.weight:
            score = score.add(c.weight, c.signal.at, rate)
    return score


@dataclass(frozen=True, slots=True)
class Why:
    activity_id: int
    type: str
    at: float
    weight: float
    now_worth: float  # the weight decayed to `now`


def explain(
    model: ScoringModel, signals: Iterable[Signal], now: float, *, product: str | None = None, top: int = 5
) -> list[Why]:
    """The activities that make up the score now, largest decayed contribution first."""
    rate = decay_rate(model.engagement.half_life_days)
    whys = [
        Why(
            c.signal.id,
            c.signal.type,
            c.signal.at,
            c.weight,
            Decaying(c.weight, c.signal.at).value_at(now, rate),
        )
        for c in count_signals(model, signals, product)
        if c.weight and c.signal.at <= now
    ]
    return sorted(whys, key=lambda w: -abs(w.now_worth))[:top]
