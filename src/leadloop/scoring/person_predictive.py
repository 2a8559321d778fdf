"""The predictive model per person (issue 16, item 2): each person asked every 30 days from when
they were first seen whether their account wins (or opens) a deal within the window, with features
from their own activities only (and their account's firmographics), not inherited from the
account's best lead. The same learners, baselines and honesty gate as the leads' model
(predictive.py): a person's probability is stored and shown only when it beats the rules (their
engagement) and their own recent activity on held-out time.

The warehouse is re-keyed by person: a "history" is the person's own activity log, the
"account" row their account's firmographics, their "contacts" themselves; so every feature and
baseline of predictive.py means the same thing, one person at a time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.scoring import features as F
from leadloop.scoring.decay import epoch
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.predictive import (
    NotEnoughData,
    Sample,
    Trained,
    Warehouse,
    activity_log,
    firmographics,
    matrix,
    one_thread,
    snapshots,
    train_on,
    why,
)
from leadloop.scoring.target import Target
from leadloop.store.tables import Opportunity, Person

MAX_PEOPLE_SAMPLES = 5_000


def _people(session: Session) -> list[tuple[int, int, datetime]]:
    """(person id, account id, first seen) of every person on an account, not merged away."""
    return [
        (pid, acc, created)
        for pid, acc, created in session.execute(
            sa.select(Person.id, Person.account_id, Person.created_at).where(
                Person.account_id.is_not(None), Person.merged_into_id.is_(None)
            )
        )
        if acc is not None
    ]


def load_people(session: Session) -> Warehouse:
    hist = F.histories(activity_log(session, by="person"))
    firms = firmographics(session)
    accounts: dict[int, dict[str, object]] = {}
    contacts: dict[int, list[F.Contact]] = {}
    for pid, acc, seniority, fit, department in session.execute(
        sa.select(Person.id, Person.account_id, Person.seniority, Person.fit_score, Person.department).where(
            Person.account_id.is_not(None), Person.merged_into_id.is_(None)
        )
    ):
        accounts[pid] = firms.get(acc or 0, {})
        contacts[pid] = [(pid, seniority, fit, department)]
    return Warehouse(hist, accounts, contacts)


def person_samples(session: Session, *, now: datetime, target: Target = Target()) -> list[Sample]:
    """Each person asked every 30 days from when they were first seen: does their account reach the
    target within the window? Keyed by person (`Sample.account_id` holds the person's id)."""
    time_of = Opportunity.closed_at if target.event == "won" else Opportunity.created_at
    q = sa.select(Opportunity.account_id, time_of).where(
        time_of.is_not(None), Opportunity.account_id.is_not(None)
    )
    if target.event == "won":
        q = q.where(Opportunity.outcome == "won")
    events: dict[int, list[float]] = {}
    for acc, at in session.execute(q):
        if acc is not None and at is not None:
            events.setdefault(acc, []).append(epoch(at))
    t_now = epoch(now)
    out = [
        Sample(pid, t, label, t, t + target.days * F.DAY)
        for pid, acc, first in _people(session)
        for t, label in snapshots(epoch(first), events.get(acc, []), t_now, target)
    ]
    out.sort(key=lambda s: s.cutoff)
    if len(out) > MAX_PEOPLE_SAMPLES:  # thinned evenly: people outnumber leads, training time grows with them
        step = len(out) / MAX_PEOPLE_SAMPLES
        out = [out[int(i * step)] for i in range(MAX_PEOPLE_SAMPLES)]
    return out


def train_people(
    session: Session, model: ScoringModel, *, now: datetime, target: Target = Target()
) -> Trained:
    return train_on(
        person_samples(session, now=now, target=target), load_people(session), model, target=target
    )


@one_thread
def person_predictions(
    session: Session, model: ScoringModel, trained: Trained, *, now: datetime
) -> list[tuple[int, float, list[list[object]]]]:
    """(person id, probability, why) for every person on an account, as of now. Reads only."""
    people = [pid for pid, _, _ in _people(session)]
    if not people:
        return []
    wh = load_people(session)
    t = epoch(now)
    x = matrix(wh, trained.space, model, [Sample(pid, t, None, t, None) for pid in people])
    p = trained.pipeline.predict_proba(x)[:, 1]
    return [(pid, float(v), r) for pid, v, r in zip(people, p, why(trained, x), strict=True)]


def write_person_predictions(session: Session, items: list[tuple[int, float, list[list[object]]]]) -> None:
    if items:
        session.execute(
            sa.update(Person), [{"id": pid, "predicted": p, "predicted_why": w} for pid, p, w in items]
        )


def clear_person_predictions(session: Session) -> None:
    session.execute(
        sa.update(Person).where(Person.predicted.is_not(None)).values(predicted=None, predicted_why=None)
    )


def predict_people(session: Session, model: ScoringModel, trained: Trained, *, now: datetime) -> int:
    """Store every person's probability when the people's model beat its baselines; else clear them."""
    if not trained.report.shown:
        clear_person_predictions(session)
        return 0
    items = person_predictions(session, model, trained, now=now)
    write_person_predictions(session, items)
    return len(items)


def summary(found: Trained | str) -> dict[str, object]:
    """What the leads' model report keeps of the people's model: its held-out figures and verdict,
    or why it was not trained."""
    if isinstance(found, str):
        return {"off": found, "roc_auc": None}
    r = found.report
    rolling = [sum(w[i] for w in r.rolling) / len(r.rolling) for i in (3, 4, 5)] if r.rolling else None
    return {"n": r.n, "roc_auc": r.roc_auc, "baselines": r.baselines, "off": r.off, "rolling": rolling}


def train_people_or_why(
    session: Session, model: ScoringModel, *, now: datetime, target: Target = Target()
) -> Trained | str:
    try:
        return train_people(session, model, now=now, target=target)
    except NotEnoughData as exc:
        return f"for people: {exc}"
