"""Answers "why this score?" for a person or a lead: the fit rules that matched and the activities
that make up the engagement now, each with its decayed contribution. Derived from the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import NotFound
from leadloop.lifecycle.model import DEFAULT_PRODUCT, OPEN
from leadloop.scoring.decay import Decaying, decay_rate, epoch, from_epoch
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.engagement import Signal, explain
from leadloop.scoring.fit import Contribution, evaluate_fit
from leadloop.scoring.handlers import ACCOUNT_FIT_FIELDS, PERSON_FIT_FIELDS
from leadloop.scoring.repository import active_model
from leadloop.store.tables import Account, Activity, Lead, LeadStageChange, Person


@dataclass(frozen=True)
class Reason:
    activity_id: int
    type: str
    occurred_at: datetime
    weight: float
    now_worth: float


@dataclass
class ScoreView:
    fit: float | None
    grade: str | None
    excluded_by: str | None
    engagement_now: float
    fit_reasons: list[Contribution] = field(default_factory=list)
    engagement_reasons: list[Reason] = field(default_factory=list)
    model: str = "default"
    # Why the lead went to sales when it was not the score (a hand-raise), in words; from its history.
    mql_reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "fit": self.fit,
            "grade": self.grade,
            "excluded_by": self.excluded_by,
            "model": self.model,
            "mql_reason": self.mql_reason,
            "engagement_now": round(self.engagement_now, 3),
            "why_fit": [{"rule": c.rule, "points": c.points, "reason": c.reason} for c in self.fit_reasons],
            "why_engagement": [
                {
                    "activity_id": r.activity_id,
                    "type": r.type,
                    "occurred_at": r.occurred_at.isoformat(),
                    "weight": r.weight,
                    "now_worth": round(r.now_worth, 3),
                }
                for r in self.engagement_reasons
            ],
        }


def _signals(session: Session, where: sa.ColumnElement[bool]) -> list[Signal]:
    rows = session.execute(
        sa.select(
            Activity.id, Activity.type, Activity.occurred_at, Activity.person_id, Activity.product
        ).where(where)
    )
    return [Signal(i, t, epoch(at), pid, prod) for i, t, at, pid, prod in rows]


def _reasons(model: ScoringModel, signals: list[Signal], now: float, product: str | None) -> list[Reason]:
    return [
        Reason(w.activity_id, w.type, from_epoch(w.at), w.weight, w.now_worth)
        for w in explain(model, signals, now, product=product)
    ]


def person_score(session: Session, person_id: int, *, now: datetime) -> ScoreView:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"there is no person #{person_id}")
    model, _ = active_model(session)
    account = session.get(Account, person.account_id) if person.account_id else None
    fit = evaluate_fit(
        model,
        {f: getattr(person, f) for f in PERSON_FIT_FIELDS},
        {f: getattr(account, f) for f in ACCOUNT_FIT_FIELDS} if account else {},
    )
    rate = decay_rate(model.engagement.half_life_days)
    t = epoch(now)
    signals = _signals(session, Activity.person_id == person_id)
    return ScoreView(
        fit.score,
        fit.grade,
        fit.excluded_by,
        Decaying(person.engagement_s, person.engagement_t0).current(t, rate),
        list(fit.contributions[:5]),
        _reasons(model, signals, t, None),
        model.name,
    )


def lead_score(session: Session, lead_id: int, *, now: datetime) -> ScoreView:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"there is no lead #{lead_id}")
    model, _ = active_model(session)
    rate = decay_rate(model.engagement.half_life_days)
    t = epoch(now)
    signals = _signals(
        session,
        sa.and_(
            Activity.account_id == lead.account_id,
            sa.func.coalesce(Activity.product, DEFAULT_PRODUCT) == lead.product,
        ),
    )
    best = session.scalar(
        sa.select(Person.id)
        .where(Person.account_id == lead.account_id)
        .order_by(Person.fit_score.desc().nulls_last())
        .limit(1)
    )
    fit_reasons = person_score(session, best, now=now).fit_reasons if best else []
    mql_reason = (
        session.scalar(
            sa.select(LeadStageChange.reason)
            .where(
                LeadStageChange.lead_id == lead_id,
                LeadStageChange.to_stage == "mql",
                LeadStageChange.trigger.in_(("reached_mql", "reactivated")),
            )
            .order_by(LeadStageChange.at.desc(), LeadStageChange.id.desc())
            .limit(1)
        )
        if lead.stage in OPEN
        else None
    )
    return ScoreView(
        lead.fit_score,
        lead.grade,
        None,
        Decaying(lead.engagement_s, lead.engagement_t0).current(t, rate),
        fit_reasons,
        _reasons(model, signals, t, lead.product),
        model.name,
        mql_reason,
    )
