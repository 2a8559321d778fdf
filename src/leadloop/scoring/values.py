"""Each lead's probability and expected value, stored together: reads the won deals for the
expected deal sizes (deal_value.py) and puts a value beside each lead's probability."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.scoring.deal_value import Currency, Sizes, WonDeal, band, fit
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.predictive import Prediction, Trained, clear_predictions, predictions, write_predictions
from leadloop.store.tables import Account, Lead, Opportunity


def won_deals(session: Session, currency: Currency) -> list[WonDeal]:
    rows = session.execute(
        sa.select(
            Opportunity.product,
            Lead.product,
            Account.employees,
            Opportunity.amount,
            Opportunity.currency,
            Opportunity.closed_at,
            Opportunity.created_at,
        )
        .outerjoin(Lead, Lead.id == Opportunity.lead_id)
        .outerjoin(Account, Account.id == Opportunity.account_id)
        .where(Opportunity.outcome == "won", Opportunity.amount.is_not(None))
    ).all()
    out = []
    for product, lead_product, employees, amount, code, closed_at, created_at in rows:
        value = None if amount is None else currency.convert(amount, code)
        if value is not None and value > 0:
            out.append(
                WonDeal(product or lead_product or "", band(employees), value, closed_at or created_at)
            )
    return out


def sizes(session: Session, currency: Currency) -> Sizes | str:
    return fit(won_deals(session, currency))


def with_values(session: Session, items: list[Prediction], currency: Currency) -> list[Prediction]:
    """Each prediction with its expected value (probability times expected deal size) and where the size
    comes from; without one when too few deals were won to say."""
    if not items:
        return items
    known = sizes(session, currency)
    if isinstance(known, str):
        return [replace(i, basis=known) for i in items]
    leads = _all_leads(session)  # predictions cover every lead
    out = []
    for i in items:
        product, employees = leads.get(i.lead_id, ("", None))
        size, basis = known.estimate(product or "", band(employees))
        out.append(
            replace(
                i, value=round(i.probability * size, 2), basis=f"{currency.into} {size:,.0f}, the {basis}"
            )
        )
    return out


def _all_leads(session: Session) -> dict[int, tuple[str, int | None]]:
    return {
        i: (p, e)
        for i, p, e in session.execute(
            sa.select(Lead.id, Lead.product, Account.employees).join(Account, Account.id == Lead.account_id)
        )
    }


def predict_leads(
    session: Session, model: ScoringModel, trained: Trained, *, now: datetime, currency: Currency = Currency()
) -> int:
    """Score every lead and store it with its expected value; returns how many. A model that did not
    beat the baselines stores no probability (nor value) at all, and clears an earlier model's: the
    rules alone rank."""
    if not trained.report.shown:
        clear_predictions(session)
        return 0
    items = with_values(session, predictions(session, model, trained, now=now), currency)
    write_predictions(session, items)
    return len(items)
