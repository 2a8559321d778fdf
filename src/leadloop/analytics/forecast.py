"""The forecast report (issue 15, item 9): forecast_rules.py says what it is, forecast_columns.py
computes it over every opportunity at once; this reads the filters and answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.analytics import forecast_columns as columns
from leadloop.analytics.filters import Money, ReportFilters, resolve
from leadloop.analytics.forecast_rules import HORIZON_MONTHS, Forecast, months_ahead
from leadloop.core.errors import InvalidInput


def forecast(
    session: Session, *, now: datetime, filters: ReportFilters, money: Money, months: int = HORIZON_MONTHS
) -> Forecast:
    """Open pipeline by expected close month, from this month for `months` months (or the range's
    months when a range is given), beside last year's won revenue in each, and the backtest."""
    scope = resolve(session, filters)
    if not 1 <= months <= 36:
        raise InvalidInput("forecast between 1 and 36 months ahead")
    deals = columns.load(session, scope.product, money.only)
    money.check(deals.currencies)
    wanted, note = months_ahead(now, scope.since, scope.until, months)
    return columns.forecast(deals, now=now, wanted=wanted, money=money, note=note)
