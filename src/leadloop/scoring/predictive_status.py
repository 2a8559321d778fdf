"""Whether the predictive model's probability is shown, and if not, why: read from the active
model's stored report without loading scikit-learn (the lead page and the API ask it per view)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.store.tables import PredictiveModelRow

NO_MODEL = (
    "no predictive model yet: it trains on won and lost opportunities, and until it beats the simple "
    "baselines the rules alone rank leads"
)
UNCOMPARED = "this model was trained before Leadloop compared models with the simple baselines; retrain it"


def prediction_off(session: Session) -> str | None:
    """None when the active model beat the baselines and its probabilities are shown; otherwise the
    sentence a person reads instead of a probability."""
    report = session.scalar(
        sa.select(PredictiveModelRow.report).where(PredictiveModelRow.status == "active").limit(1)
    )
    if report is None:
        return NO_MODEL
    if "off" not in report:
        return UNCOMPARED
    off = report["off"]
    return None if off is None else str(off)
