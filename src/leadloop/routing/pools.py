"""Choosing a pool member: pure.

Round robin and weighted share one rule, smooth weighted round robin: at each lead every
eligible member earns credit equal to its weight, the member with the most credit is chosen and
pays back the eligible total. Shares follow the weights to within a lead at every point, and the
credit is stored per member, so adding or removing someone never resets anyone's turn; a member
who is away earns nothing meanwhile, so coming back brings no burst of catch-up leads.
Load-balanced takes the fewest open leads. Members who are unavailable or at capacity are
skipped, each with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Candidate:
    user_id: int
    email: str
    weight: float = 1.0
    credit: float = 0.0  # smooth weighted round robin state
    today: int = 0  # leads assigned today / this week, in the member's own calendar
    week: int = 0
    open_leads: int = 0
    daily_cap: int | None = None
    weekly_cap: int | None = None
    unavailable: str | None = None  # why not now (inactive, out of office, outside hours, holiday)


@dataclass(frozen=True)
class Pick:
    chosen: Candidate | None
    credits: dict[int, float] = field(default_factory=dict)  # new credit of every eligible member
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)


def blocked(c: Candidate) -> str | None:
    if c.unavailable:
        return c.unavailable
    if c.daily_cap is not None and c.today >= c.daily_cap:
        return f"daily cap reached ({c.today}/{c.daily_cap})"
    if c.weekly_cap is not None and c.week >= c.weekly_cap:
        return f"weekly cap reached ({c.week}/{c.weekly_cap})"
    return None


def pick(mode: str, members: list[Candidate]) -> Pick:
    skipped = [(c.email, why) for c in members if (why := blocked(c))]
    eligible = [c for c in members if not blocked(c)]
    if not eligible:
        return Pick(None, {}, skipped)
    weight = {c.user_id: (c.weight if mode == "weighted" else 1.0) for c in eligible}
    credits = {c.user_id: c.credit + weight[c.user_id] for c in eligible}
    if mode == "load_balanced":
        chosen = min(eligible, key=lambda c: (c.open_leads, -credits[c.user_id], c.user_id))
    else:
        chosen = max(eligible, key=lambda c: (credits[c.user_id], -c.user_id))
    credits[chosen.user_id] -= sum(weight.values())
    return Pick(chosen, credits, skipped)
