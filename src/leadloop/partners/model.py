"""Channel sales as pure rules: how fast each partner tier must accept a lead, what a partner may
report about a lead, how a registered deal compares with what the warehouse holds, and the
partner scorecard."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from leadloop.contract.normalise import parse_money
from leadloop.core.errors import InvalidInput

# Hours a partner of each tier has to accept a routed lead before it is recalled and routed again.
# Wall-clock hours: a partner's working calendar is theirs, not ours.
PARTNER_ACCEPT = "partner_accept"  # the timer kind of a partner's accept deadline
TIER_HOURS: dict[str, int] = {"platinum": 4, "gold": 8, "silver": 24, "registered": 48}
DEAL_DAYS = 90  # a registration nobody decided on expires after this many days
OUTCOMES = ("contacted", "qualified", "won", "lost")


def accept_due(tier: str, assigned_at: datetime) -> datetime:
    return assigned_at + timedelta(hours=TIER_HOURS.get(tier, TIER_HOURS["registered"]))


@dataclass(frozen=True)
class Report:
    """What a partner says happened to a lead: contacted, qualified, won (with the amount) or lost
    (with the reason)."""

    outcome: str
    amount: Decimal | None = None
    reason: str | None = None


def parse_report(outcome: str, amount: str | None, reason: str | None) -> Report:
    outcome = (outcome or "").strip().lower()
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of: {', '.join(OUTCOMES)}; got {outcome!r}")
    if outcome == "won":
        value = parse_money(amount, field="amount") or Decimal(0)
        if value <= 0 or value >= Decimal("1e15"):
            raise InvalidInput("amount: a won deal needs its amount, a positive number")
        return Report("won", amount=value.quantize(Decimal("0.01")))
    if outcome == "lost":
        why = (reason or "").strip()
        if not why:
            raise InvalidInput("reason: say why the deal was lost")
        return Report("lost", reason=why[:300])
    return Report(outcome)


@dataclass(frozen=True)
class Candidate:
    """Something in the warehouse a registered deal may be: an account, one of its leads, an open
    opportunity."""

    kind: str  # account | lead | opportunity
    id: int
    why: str
    owner: str | None = None  # who works it now (lead owner), if anyone


def conflicts(candidates: Sequence[Candidate], *, partner_name: str) -> list[str]:
    """Why a channel manager should look twice before approving: the same company already has a
    lead with someone else, or an open opportunity."""
    out = []
    for c in candidates:
        if c.kind == "lead" and c.owner and c.owner != partner_name:
            out.append(f"lead #{c.id} is already with {c.owner} ({c.why})")
        elif c.kind == "opportunity":
            out.append(f"opportunity #{c.id} is already open ({c.why})")
    return out


@dataclass
class Scorecard:
    partner_id: int
    name: str
    tier: str
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    missed: int = 0  # recalled for not accepting in time
    won: int = 0
    lost: int = 0
    revenue: Decimal = Decimal(0)
    accept_hours: list[float] = field(default_factory=list)
    currency: str = "USD"  # what `revenue` is in
    revenue_left_out: int = 0  # won deals in a currency without a rate to `currency`

    @property
    def acceptance_rate(self) -> float | None:
        decided = self.accepted + self.rejected + self.missed
        return self.accepted / decided if decided else None

    @property
    def median_hours_to_accept(self) -> float | None:
        return statistics.median(self.accept_hours) if self.accept_hours else None

    @property
    def conversion(self) -> float | None:
        return self.won / self.received if self.received else None

    def as_dict(self) -> dict[str, object]:
        return {
            "partner_id": self.partner_id,
            "name": self.name,
            "tier": self.tier,
            "received": self.received,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "sla_misses": self.missed,
            "acceptance_rate": self.acceptance_rate,
            "median_hours_to_accept": self.median_hours_to_accept,
            "won": self.won,
            "lost": self.lost,
            "conversion": self.conversion,
            "revenue": str(self.revenue),
            "revenue_currency": self.currency,
            "revenue_left_out": self.revenue_left_out,
        }


@dataclass(frozen=True)
class Handoff:
    """One lead handed to a partner, as the routing audit and the lead tell it."""

    partner_id: int
    lead_id: int
    assigned_at: datetime
    accepted_at: datetime | None  # by this partner
    outcome: str  # accepted | rejected | missed | pending
    won_amount: Decimal | None = None
    lost: bool = False


def scorecards(partners: Iterable[tuple[int, str, str]], handoffs: Iterable[Handoff]) -> list[Scorecard]:
    cards = {pid: Scorecard(pid, name, tier) for pid, name, tier in partners}
    for h in handoffs:
        card = cards.get(h.partner_id)
        if card is None:
            continue
        card.received += 1
        if h.outcome == "accepted":
            card.accepted += 1
            if h.accepted_at is not None:
                card.accept_hours.append((h.accepted_at - h.assigned_at).total_seconds() / 3600)
        elif h.outcome == "rejected":
            card.rejected += 1
        elif h.outcome == "missed":
            card.missed += 1
        if h.won_amount is not None:
            card.won += 1
            card.revenue += h.won_amount
        elif h.lost:
            card.lost += 1
    return sorted(cards.values(), key=lambda c: (-c.revenue, c.name))
