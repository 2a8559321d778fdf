"""Multi-touch attribution, pure: an opportunity and its touches in, a credit per touch out.

Every model returns credits that sum to exactly the opportunity's amount: the weights are exact
fractions (or floats read exactly as fractions) and `split_exact` hands out whole minor units by
largest remainder, so rounding never makes or loses a cent. The touches a model sees are already
the opportunity's window (`in_window`), oldest first.

Key touches (ADR 0034):
- first touch: the oldest touch in the window;
- lead creation: the last touch at or before the lead's creation when the opportunity knows its
  lead, else the first touch;
- opportunity creation: the last touch at or before the opportunity's creation, else (every touch
  came after it) the first touch;
- close: the last touch (touches after the close are outside the window).
A touch holding two keys takes both shares. The shares left for "the rest" go evenly to the touches
that hold no key; when every touch holds a key, they go evenly to the key touches, so the shares
always sum to one.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

Outcome = Literal["won", "lost", "open"]

FIRST_TOUCH, LAST_TOUCH, LINEAR = "first_touch", "last_touch", "linear"
U_SHAPED, W_SHAPED, FULL_PATH = "u_shaped", "w_shaped", "full_path"
TIME_DECAY, MARKOV = "time_decay", "markov"
MODELS = (FIRST_TOUCH, LAST_TOUCH, LINEAR, U_SHAPED, W_SHAPED, FULL_PATH, TIME_DECAY, MARKOV)

DEFAULT_WINDOW = timedelta(days=180)
DEFAULT_HALF_LIFE = timedelta(days=7)
NO_CAMPAIGN = "(no campaign)"

# What a buyer did, not what we did to them or what a machine did: a touch is one of these. Left
# out on purpose: machine opens and clicks (ADR 0032), our own sends, bounces, complaints and
# unsubscribes (not a step towards buying), careers pages (a job seeker), imports and record
# creation (bookkeeping), the opportunity's own events, and sales' calls and meetings: attribution
# answers which *marketing* touches produced revenue, and a rep's call would take credit for the
# deal it was working on. Product usage is the product, not a campaign.
ENGAGEMENT_TYPES = frozenset(
    {
        "form_submit",
        "demo_request",
        "contact_request",
        "contact_sales",
        "pricing_request",
        "trial_signup",
        "pricing_page_view",
        "page_view",
        "content_download",
        "webinar_registered",
        "webinar_attended",
        "event_attended",
        "email_open",
        "email_click",
        "email_reply",
        "chat",
        "ad_click",
        "social_engagement",
    }
)


# What a report groups credits by, and the name of a touch without one.
BY = ("campaign", "channel", "content")
NO_TOUCHES = "(no touches)"  # the row of the money of opportunities without a touch in their window
_NONE = {"campaign": NO_CAMPAIGN, "channel": "(no channel)", "content": "(no content)"}


def group_of(touch: Touch, by: str) -> str:
    value = {"campaign": touch.campaign, "channel": touch.channel, "content": touch.content}[by]
    return value or _NONE[by]


class UnknownModel(ValueError):
    def __init__(self, given: str) -> None:
        super().__init__(f"unknown attribution model {given!r}; known models: {', '.join(MODELS)}")


@dataclass(frozen=True, slots=True)
class Opp:
    id: int
    amount: Decimal
    currency: str
    created_at: datetime
    closed_at: datetime | None
    outcome: Outcome
    lead_created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Touch:
    id: int  # the activity's id: a stable order for touches at the same instant
    at: datetime
    campaign: str | None
    channel: str | None
    content: str | None
    person_id: int
    kind: str
    campaign_id: int | None = None  # the campaign's id when it has one (None with `campaign`)


def in_window(
    opp: Opp, touches: Sequence[Touch], *, now: datetime, window: timedelta = DEFAULT_WINDOW
) -> list[Touch]:
    """The touches that count for `opp`, oldest first: from `window` before its creation through its
    close (an open opportunity: through `now`); a touch after the close helped nothing."""
    return Timeline(touches).window(opp, now=now, window=window)


class Timeline:
    """An account's touches sorted once (by instant, then id), so that each of its opportunities
    takes its window by bisection (`in_window`'s answer, without a sort per opportunity)."""

    __slots__ = ("_ats", "_touches")

    def __init__(self, touches: Sequence[Touch]) -> None:
        self._touches = sorted(touches, key=lambda t: (t.at, t.id))
        self._ats = [t.at for t in self._touches]

    def window(self, opp: Opp, *, now: datetime, window: timedelta = DEFAULT_WINDOW) -> list[Touch]:
        start, end = opp.created_at - window, opp.closed_at or now
        return self._touches[bisect_left(self._ats, start) : bisect_right(self._ats, end)]


def split_exact(amount: Decimal, weights: Sequence[Fraction | float]) -> list[Decimal]:
    """`amount` split in proportion to `weights`, in whole minor units (cents, or the amount's own
    finer unit), by largest remainder; ties go to the earlier touch. The parts sum to `amount`."""
    fractions = [Fraction(w) for w in weights]
    total = sum(fractions, Fraction(0))
    if not fractions or total <= 0 or any(f < 0 for f in fractions):
        raise ValueError("weights must be non-negative with a positive sum")
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"amount {amount} is not a finite number")
    quantum = Decimal(1).scaleb(min(exponent, -2))
    units = int(amount / quantum)
    exact = [units * f / total for f in fractions]
    parts = [math.floor(x) for x in exact]
    left = units - sum(parts)
    for i in sorted(range(len(parts)), key=lambda i: (parts[i] - exact[i], i))[:left]:
        parts[i] += 1
    return [p * quantum for p in parts]


def _last_at_or_before(touches: Sequence[Touch], moment: datetime | None) -> int:
    if moment is None:
        return 0
    before = [i for i, t in enumerate(touches) if t.at <= moment]
    return before[-1] if before else 0


def _positional(n: int, keys: Sequence[tuple[int, Fraction]], rest: Fraction) -> list[Fraction]:
    weights = [Fraction(0)] * n
    for i, share in keys:
        weights[i] += share
    held = {i for i, _ in keys}
    spread = [i for i in range(n) if i not in held] or sorted(held)
    for i in spread:
        weights[i] += rest / len(spread)
    return weights


def weights(
    model: str,
    opp: Opp,
    touches: Sequence[Touch],
    *,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    removal: Mapping[str, float] | None = None,
) -> list[Fraction]:
    """Each touch's share of the credit under `model`; they sum to one. `removal` is the Markov
    model's removal effect per campaign (markov.removal_effects)."""
    n = len(touches)
    if n == 0:
        return []
    last = n - 1
    lead = _last_at_or_before(touches, opp.lead_created_at)
    created = _last_at_or_before(touches, opp.created_at)
    match model:
        case "first_touch":
            return [Fraction(int(i == 0)) for i in range(n)]
        case "last_touch":
            return [Fraction(int(i == last)) for i in range(n)]
        case "linear":
            return [Fraction(1, n)] * n
        case "u_shaped":
            return _positional(n, [(0, Fraction(2, 5)), (last, Fraction(2, 5))], Fraction(1, 5))
        case "w_shaped":
            third = Fraction(3, 10)
            return _positional(n, [(0, third), (lead, third), (created, third)], Fraction(1, 10))
        case "full_path":
            q = Fraction(9, 40)  # 22.5 %
            return _positional(n, [(0, q), (lead, q), (created, q), (last, q)], Fraction(1, 10))
        case "time_decay":
            # 2^(-age / half-life), age counted back from the newest touch: the ratio between two
            # touches is what matters, and the newest weighs 1, so the sum never underflows.
            h = half_life.total_seconds()
            ref = touches[last].at
            raw = [Fraction(2.0 ** (-(ref - t.at).total_seconds() / h)) for t in touches]
            total = sum(raw, Fraction(0))
            return [w / total for w in raw]
        case "markov":
            return _markov(touches, removal or {})
    raise UnknownModel(model)


def _markov(touches: Sequence[Touch], removal: Mapping[str, float]) -> list[Fraction]:
    """The opportunity's amount over its campaigns by their removal effects, each campaign's part
    shared evenly by its touches. When none of its campaigns has an effect (no conversions learnt,
    or only campaigns never seen converting) there is nothing to go by: linear."""
    names = [t.campaign or NO_CAMPAIGN for t in touches]
    counts = Counter(names)
    raw = [Fraction(max(removal.get(c, 0.0), 0.0)) / counts[c] for c in names]
    total = sum(raw, Fraction(0))
    if total == 0:
        return [Fraction(1, len(touches))] * len(touches)
    return [w / total for w in raw]


def scaled_removal(removal: Mapping[str, float]) -> tuple[dict[str, int], int]:
    """The removal effects as integers over one denominator (a float is an exact binary fraction),
    so that `markov_units` can split in integers what `credit` splits in fractions."""
    exact = {c: Fraction(max(r, 0.0)) for c, r in removal.items()}
    den = math.lcm(1, *(f.denominator for f in exact.values()))
    return {c: f.numerator * (den // f.denominator) for c, f in exact.items()}, den


def markov_units(units: int, names: Sequence[str], scaled: Mapping[str, int]) -> list[int]:
    """`credit(MARKOV, ...)` in whole minor units, with integers alone (no Fraction per touch): the
    same parts, largest remainder and ties to the earlier touch (a property test holds them equal).
    `names`: each touch's campaign (NO_CAMPAIGN for none); `scaled`: `scaled_removal`'s integers.
    A touch of campaign c weighs r_c / n_c (n_c: the campaign's touches here), so its exact part is
    units * r_c * (m / n_c) / (m * W), with W the sum of r_c over the campaigns and m the lcm of n_c."""
    n = len(names)
    counts: dict[str, int] = {}
    for c in names:
        counts[c] = counts.get(c, 0) + 1
    total = sum(scaled.get(c, 0) for c in counts)
    if total == 0:  # nothing to go by: linear, as `_markov`
        nums, den = [units] * n, n
    else:
        m = math.lcm(*counts.values())
        nums = [units * scaled.get(c, 0) * (m // counts[c]) for c in names]
        den = m * total
    parts, rems = [], []
    for x in nums:
        q, r = divmod(x, den)
        parts.append(q)
        rems.append(r)
    left = units - sum(parts)
    if left:
        for i in sorted(range(n), key=lambda i: (-rems[i], i))[:left]:
            parts[i] += 1
    return parts


def credit(
    model: str,
    opp: Opp,
    touches: Sequence[Touch],
    *,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    removal: Mapping[str, float] | None = None,
) -> list[Decimal]:
    """The credit of each touch (already `in_window`, oldest first); they sum to `opp.amount`. No
    touches, no credits: the caller reports the amount as unattributed."""
    if model not in MODELS:
        raise UnknownModel(model)
    if not touches:
        return []
    return split_exact(opp.amount, weights(model, opp, touches, half_life=half_life, removal=removal))
