"""Scoring's timers: a lead cooling below the MQL threshold (decay crossing, computed exactly when
the score last changed) and the predictive model's scheduled retraining."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event, LeadCooled
from leadloop.core.logging import get_logger
from leadloop.core.reactions import publish
from leadloop.jobs.timers import TIMERS, Due, Job, schedule
from leadloop.lifecycle.handlers import move
from leadloop.lifecycle.model import Trigger
from leadloop.scoring.deal_value import Currency
from leadloop.scoring.decay import Decaying, decay_rate, epoch, from_epoch
from leadloop.scoring.person_predictive import (
    clear_person_predictions,
    person_predictions,
    summary,
    train_people_or_why,
    write_person_predictions,
)
from leadloop.scoring.predictive import (
    NotEnoughData,
    Prediction,
    Trained,
    clear_predictions,
    predictions,
    save,
    train,
    write_predictions,
)
from leadloop.scoring.repository import active_model
from leadloop.scoring.target import Target
from leadloop.scoring.values import with_values
from leadloop.store.tables import Lead, PredictiveModelRow

log = get_logger("leadloop.scoring.jobs")
RETRAIN = "predictive_retrain"
RETRAIN_SUBJECT = "predictive"


def lead_cools(session: Session, due: Due, now: datetime) -> list[Event]:
    """Back to nurture, if it is still an MQL waiting in a queue and its score really is below the
    threshold now (a newer activity may have warmed it; then there is nothing to do)."""
    lead = session.get(Lead, int(due.subject.split(":", 1)[1]))
    if lead is None or lead.stage != "mql" or lead.owner_team_id is None:
        return []  # accepted, moved on, or with a rep or partner (whose SLA clock deals with it)
    model, _ = active_model(session)
    rate = decay_rate(model.engagement.half_life_days)
    score = Decaying(lead.engagement_s, lead.engagement_t0)
    value = score.current(epoch(now), rate)
    threshold = model.engagement.mql_threshold
    if value > threshold * (1 + 1e-9):  # warmed since: arm the new crossing instead
        later = score.falls_below_at(threshold, rate)
        if later is not None and later > epoch(now):
            schedule(session, due.kind, due.subject, from_epoch(later), {"threshold": threshold})
        return []
    reason = f"engagement {value:.1f} fell below the MQL threshold {threshold:g} before sales accepted it"
    moved = move(session, lead, Trigger.COOLED, now=now, reason=reason)
    return publish(session, [*moved, LeadCooled(lead.id, value, now)], now=now)


@dataclass
class _Retrained:
    trained: Trained | None
    predictions: list[Prediction]
    skipped: str | None = None
    people: Trained | str = "not trained"  # the people's model, or why there is none
    people_predictions: list[tuple[int, float, list[list[object]]]] = field(default_factory=list)


def _prepare_retrain(
    session: Session, due: Due, now: datetime, *, target: Target, currency: Currency
) -> _Retrained:
    """The slow part, reading only: train on the warehouse's outcomes and score every lead."""
    model, _ = active_model(session)
    try:
        trained = train(session, model, now=now, target=target)
    except NotEnoughData as exc:
        return _Retrained(None, [], str(exc))
    people = train_people_or_why(session, model, now=now, target=target)
    mine = (
        person_predictions(session, model, people, now=now)
        if not isinstance(people, str) and people.report.shown
        else []
    )
    if not trained.report.shown:  # it did not beat the baselines: no probability is worth storing
        return _Retrained(trained, [], people=people, people_predictions=mine)
    leads = with_values(session, predictions(session, model, trained, now=now), currency)
    return _Retrained(trained, leads, people=people, people_predictions=mine)


def _apply_retrain(
    session: Session, due: Due, now: datetime, done: _Retrained, *, every: timedelta
) -> list[Event]:
    """Store the model and the leads' probabilities, and arm the next run. Too little history is
    not a failure: the rules keep scoring and the next run tries again."""
    if done.trained is None:
        log.info("predictive.retrain_skipped", reason=done.skipped)
    else:
        done.trained.report.people = summary(done.people)
        model_id = save(session, done.trained, now=now)
        if done.trained.report.shown:
            write_predictions(session, done.predictions)
        else:
            clear_predictions(session)
        if done.people_predictions:
            write_person_predictions(session, done.people_predictions)
        else:
            clear_person_predictions(session)
        log.info(
            "predictive.retrained",
            model_id=model_id,
            roc_auc=round(done.trained.report.roc_auc, 3),
            baselines={k: round(v, 3) for k, v in done.trained.report.baselines.items()},
            shown=done.trained.report.shown,
            leads=len(done.predictions),
            learner=done.trained.report.learner,
        )
    schedule(session, RETRAIN, RETRAIN_SUBJECT, now + every)
    return []


def retrain_job(every: timedelta, target: Target = Target(), currency: Currency = Currency()) -> Job:
    return Job(
        partial(_prepare_retrain, target=target, currency=currency), partial(_apply_retrain, every=every)
    )


def ensure_retrain_scheduled(session: Session, *, now: datetime, every: timedelta) -> None:
    """Arm the schedule if nothing is pending: due at once when no model was ever trained, else one
    period after the latest model. Each run arms the next."""
    exists = session.scalar(
        sa.select(TIMERS.c.id).where(TIMERS.c.kind == RETRAIN, TIMERS.c.done_at.is_(None))
    )
    if exists is None:
        last = session.scalar(sa.select(sa.func.max(PredictiveModelRow.created_at)))
        schedule(session, RETRAIN, RETRAIN_SUBJECT, max(now, last + every) if last else now)
