"""The filters every report takes (issue 15): a date range, a campaign, a segment, a team and a
product, checked once here and resolved to ids, so that a report, its drill-down, the CLI, the API
and the dashboards all read one scope the same way; and the one rule for money in several currencies.

Bad input is a named error with a sentence a person can act on (never a 500): a range that ends
before it starts, a campaign, segment, team or product nobody knows, a segment that was deleted
(archived), a currency with no exchange rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import InvalidInput
from leadloop.store.tables import Campaign, Lead, Segment, Team

FIRST_YEAR, LAST_YEAR = 1900, 2199  # what a report's months and quarters are computed for


class DateRangeBackwards(InvalidInput):
    def __init__(self, start: date, end: date) -> None:
        super().__init__(f"the date range ends ({end}) before it starts ({start}); swap --from and --to")


class DateOutOfRange(InvalidInput):
    def __init__(self, d: date) -> None:
        super().__init__(
            f"{d.isoformat()} is outside the years a report covers ({FIRST_YEAR} to {LAST_YEAR}); "
            "give a date in that range"
        )


class UnknownFilter(InvalidInput):
    """A campaign, segment, team or product the warehouse does not know."""


class DeletedSegment(InvalidInput):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"segment {name!r} was deleted (archived); its members are no longer kept, so it cannot "
            "filter a report: choose a live segment"
        )


class CurrencyMix(InvalidInput):
    def __init__(self, missing: Iterable[str], into: str) -> None:
        names = ", ".join(sorted(set(missing)))
        super().__init__(
            f"amounts in {names} cannot be added to {into} without an exchange rate; set "
            f'LEADLOOP_FX_RATES (for example \'{{"{sorted(set(missing))[0]}": "1.08"}}\': {into} per unit) '
            f"or pick --currency {sorted(set(missing))[0]} to see only those amounts"
        )


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """What a person asked for, as given: names or external ids, dates (both included)."""

    start: date | None = None
    end: date | None = None
    campaign: str | None = None  # name or external id
    segment: str | None = None  # name or id
    team: str | None = None  # name or id
    product: str | None = None

    def checked(self) -> ReportFilters:
        for d in (self.start, self.end):
            if d is not None and not FIRST_YEAR <= d.year <= LAST_YEAR:
                raise DateOutOfRange(d)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise DateRangeBackwards(self.start, self.end)
        return self


@dataclass(frozen=True, slots=True)
class Scope:
    """The filters resolved: ids, and the range as [since, until) instants in UTC."""

    since: datetime | None = None
    until: datetime | None = None
    campaign_id: int | None = None
    segment_id: int | None = None
    team_id: int | None = None
    product: str | None = None
    asked: ReportFilters = field(default_factory=ReportFilters)

    def in_range(self, at: datetime | None) -> bool:
        """Pure: is `at` inside the range (an open end takes everything on that side)?"""
        if at is None:
            return False
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)


def resolve(session: Session, filters: ReportFilters) -> Scope:
    """The filters checked and turned into ids; an unknown or deleted name raises, never ignored."""
    f = filters.checked()
    campaign_id = segment_id = team_id = None
    if f.campaign is not None:
        campaign_id = session.scalar(
            sa.select(Campaign.id)
            .where(sa.or_(Campaign.name == f.campaign, Campaign.external_id == f.campaign))
            .limit(1)
        )
        if campaign_id is None:
            raise UnknownFilter(f"there is no campaign {f.campaign!r}; give a campaign's name or external id")
    if f.segment is not None:
        key = int(f.segment) if f.segment.isdigit() else -1
        row = session.execute(
            sa.select(Segment.id, Segment.name, Segment.archived_at)
            .where(sa.or_(Segment.name == f.segment, Segment.id == key))
            .limit(1)
        ).first()
        if row is None:
            raise UnknownFilter(f"there is no segment {f.segment!r}; give a segment's name or id")
        if row.archived_at is not None:
            raise DeletedSegment(row.name)
        segment_id = row.id
    if f.team is not None:
        key = int(f.team) if f.team.isdigit() else -1
        team_id = session.scalar(
            sa.select(Team.id).where(sa.or_(Team.name == f.team, Team.id == key)).limit(1)
        )
        if team_id is None:
            raise UnknownFilter(f"there is no team {f.team!r}; give a team's name or id")
    if f.product is not None:
        known = session.scalar(sa.select(Lead.id).where(Lead.product == f.product).limit(1))
        if known is None:
            raise UnknownFilter(f"no lead is about the product {f.product!r}; check its spelling")
    return Scope(
        since=None if f.start is None else day_start(f.start),
        until=None if f.end is None else day_start(f.end + timedelta(days=1)),
        campaign_id=campaign_id,
        segment_id=segment_id,
        team_id=team_id,
        product=f.product,
        asked=f,
    )


@dataclass(frozen=True, slots=True)
class Money:
    """Amounts in one currency. `rates` give units of `into` per unit of another currency; amounts
    in a currency without a rate make the sum refuse (CurrencyMix) rather than add apples to pears.
    With `only` set, only that currency's amounts count and nothing is converted."""

    into: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)
    only: str | None = None

    @property
    def currency(self) -> str:
        return self.only or self.into

    def total(self, by_currency: Mapping[str, Decimal]) -> Decimal:
        """Pure: the sum of per-currency amounts in `currency`, to the cent."""
        if self.only is not None:
            return by_currency.get(self.only, Decimal(0))
        missing = [c for c, v in by_currency.items() if c != self.into and c not in self.rates and v]
        if missing:
            raise CurrencyMix(missing, self.into)
        return sum(
            (v if c == self.into else v * self.rates[c] for c, v in by_currency.items()), Decimal(0)
        ).quantize(Decimal("0.01"))

    def check(self, currencies: Iterable[str]) -> None:
        missing = [c for c in currencies if c != self.into and c not in self.rates]
        if self.only is None and missing:
            raise CurrencyMix(missing, self.into)
