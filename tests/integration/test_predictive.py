"""The predictive model on a simulated history, on SQLite and PostgreSQL: it refuses too little
data, learns, reports honestly on a period it did not see, and scores every lead."""

from __future__ import annotations

import csv
import io
import statistics
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.capture.export import export_csv
from leadloop.core.clock import FrozenClock
from leadloop.scoring.deal_value import MIN_DEALS, Currency
from leadloop.scoring.person_predictive import load_people, predict_people, train_people, train_people_or_why
from leadloop.scoring.predictive import (
    MARGIN,
    NotEnoughData,
    active_report,
    backtest,
    evaluate,
    save,
    train,
)
from leadloop.scoring.predictive_status import prediction_off
from leadloop.scoring.repository import default_model
from leadloop.scoring.values import predict_leads
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Lead, Person
from tests.fixtures.scoring import load_simulated_world, signal_world


def _accounts(s: Session, n: int, clock: FrozenClock) -> None:
    """The accounts the opportunities are on: one on an unknown account is refused (ADR 0035)."""
    h.upsert_accounts(
        s, [m.parse_account({"external_id": f"A{i}", "name": f"A{i}"}) for i in range(n)], now=clock()
    )


def test_one_class_only_is_a_clear_error(db: Database, clock: FrozenClock) -> None:
    signal_world(db, clock, n=60, won=lambda i: True)
    with (
        db.read() as s,
        pytest.raises(
            NotEnoughData,
            match=r"has only leads that did reach a deal won within 90 days \(\d+\); a model needs both",
        ),
    ):
        train(s, default_model(), now=clock())


def test_no_answer_yet_and_too_little_data_are_refused_and_say_what_they_need(
    db: Database, clock: FrozenClock
) -> None:
    with db.read() as s, pytest.raises(NotEnoughData, match="no lead whose answer is known yet"):
        train(s, default_model(), now=clock())
    signal_world(db, clock, n=10)
    with (
        db.read() as s,
        pytest.raises(
            NotEnoughData,
            match=r"training needs at least 30 in all and 8 of each\. Until then the rules alone score leads",
        ),
    ):
        train(s, default_model(), now=clock())


@pytest.mark.slow
def test_train_report_backtest_and_scores_on_a_simulated_history(db: Database, clock: FrozenClock) -> None:
    load_simulated_world(db, clock)
    with db.write() as s:
        trained = train(s, default_model(), now=clock())
        save(s, trained, now=clock())
        n = predict_leads(s, default_model(), trained, now=clock())
    r = trained.report
    assert r.learner in ("rules", "logistic", "gbm") and set(r.cross_validated) == {
        "rules",
        "logistic",
        "gbm",
    }
    best = max(r.cross_validated.values())
    # the best by cross-validation, unless it beats the calibrated rules by less than the margin
    assert r.cross_validated[r.learner] >= best - 0.0005 or (
        r.learner == "rules" and best < r.cross_validated["rules"] + MARGIN
    )
    assert r.lines()[0].startswith(f"learner: {r.learner}")
    assert r.n > 0 and 0.0 <= r.roc_auc <= 1.0 and 0.0 <= r.pr_auc <= 1.0
    assert sum(d[1] for d in r.lift_by_decile) == r.n and sum(c[2] for c in r.calibration) == r.n
    # Asked of leads (will this lead's account win a deal within 90 days?), the model beats both
    # baselines on held-out time here, so every lead carries its probability and why.
    assert r.baselines.keys() == {"rules", "recency"} and len(r.rolling) >= 1
    assert r.shown and r.off is None, r.lines()
    with db.read() as s:
        stored = active_report(s)
        assert stored is not None and stored[2].roc_auc == pytest.approx(r.roc_auc)
        assert prediction_off(s) is None
        preds = [p for (p,) in s.execute(sa.select(Lead.predicted))]
        whys = [w for (w,) in s.execute(sa.select(Lead.predicted_why))]
    assert n == len(preds) > 0 and all(p is not None and 0 <= p <= 1 for p in preds)
    # Every lead that differs from the typical account says which features move it, in words.
    assert sum(1 for w in whys if w) > len(whys) // 2
    assert all(isinstance(f, str) and not f.startswith(("n90_", "log_")) for w in whys for f, _ in w or [])
    out = io.StringIO()
    export_csv(db, "leads", out, now=clock())
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(exported) == n and all(0 <= float(row["predicted_probability"]) <= 1 for row in exported)
    with db.read() as s:
        bt = backtest(s, default_model(), as_of=clock() - timedelta(days=120), now=clock())
    assert bt.report.n > 0 and bt.trained_on > 0


def test_evaluate_metrics_on_known_values() -> None:
    y = np.array([0, 0, 1, 1])
    r = evaluate(y, np.array([0.1, 0.4, 0.35, 0.8]))
    assert r.roc_auc == pytest.approx(0.75) and r.base_rate == 0.5
    with pytest.raises(NotEnoughData, match="one class only"):
        evaluate(np.array([1, 1]), np.array([0.2, 0.9]))


@pytest.mark.slow
def test_a_model_that_beats_the_baselines_is_shown_on_every_lead(db: Database, clock: FrozenClock) -> None:
    signal_world(db, clock)
    with db.write() as s:
        trained = train(s, default_model(), now=clock())
        save(s, trained, now=clock())
        n = predict_leads(s, default_model(), trained, now=clock())
    r = trained.report
    assert r.learner in ("logistic", "gbm") and r.shown, r.lines()
    rolling_model = np.mean([w[3] for w in r.rolling])
    assert rolling_model >= max(np.mean([w[4] for w in r.rolling]), np.mean([w[5] for w in r.rolling])) + 0.02
    with db.read() as s:
        preds = [p for (p,) in s.execute(sa.select(Lead.predicted))]
        assert prediction_off(s) is None
    assert n == len(preds) > 0 and all(p is not None and 0 <= p <= 1 for p in preds)


def _usd(i: int) -> dict[str, str]:
    """Deal i's amount: most in dollars, every seventh in pounds, for which no rate is set."""
    return (
        {"amount": str(10_000 + 1_000 * (i % 5)), "currency": "USD"}
        if i % 7
        else {"amount": "5000", "currency": "GBP"}
    )


@pytest.mark.slow
def test_each_shown_probability_carries_an_expected_value(db: Database, clock: FrozenClock) -> None:
    signal_world(db, clock, amount=_usd)
    with db.write() as s:
        trained = train(s, default_model(), now=clock())
        n = predict_leads(s, default_model(), trained, now=clock(), currency=Currency("USD"))
    assert trained.report.shown and n > 0, trained.report.lines()
    won = [i for i in range(120) if (i % 2) != (i % 15 == 0) and i % 7]  # the GBP deals have no rate
    size = statistics.median(10_000 + 1_000 * (i % 5) for i in won)
    with db.read() as s:
        rows = s.execute(
            sa.select(Lead.id, Lead.predicted, Lead.expected_value, Lead.expected_value_basis)
        ).all()
    assert len(rows) == n
    for _, p, value, basis in rows:  # one product, one size band: the median of all won deals
        assert value == pytest.approx(p * size, abs=0.01)
        assert basis == f"USD {size:,.0f}, the median of all {len(won)} won deals"
    out = io.StringIO()
    export_csv(db, "leads", out, now=clock())
    exported = {int(r["leadloop_id"]): r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert all(float(exported[i]["expected_value"]) == pytest.approx(v, abs=0.01) for i, _, v, _ in rows)
    with db.write() as s:  # no won deal with an amount in the default currency: no value, and why
        trained = train(s, default_model(), now=clock())
        predict_leads(s, default_model(), trained, now=clock(), currency=Currency("EUR"))
        values = set(s.execute(sa.select(Lead.expected_value, Lead.expected_value_basis)).all())
    assert values == {(None, f"no expected value: it needs {MIN_DEALS} more won deals with an amount")}


@pytest.mark.slow
def test_people_have_their_own_prediction_from_their_own_activity(db: Database, clock: FrozenClock) -> None:
    """Issue 16, item 2: a person's probability comes from the people's model and their own activity,
    not from their account's best lead; it too is stored only when it beats its baselines."""
    with db.read() as s:  # no outcomes yet: a sentence, and no person probability
        assert str(train_people_or_why(s, default_model(), now=clock())).startswith(
            "for people: the warehouse has no lead whose answer is known yet"
        )
    load_simulated_world(db, clock)
    with db.read() as s:
        wh = load_people(s)
        someone, own = s.execute(
            sa.select(Activity.person_id, sa.func.count())
            .where(
                Activity.person_id.is_not(None),
                Activity.type.not_in(["email_open_machine", "email_click_machine"]),
            )
            .group_by(Activity.person_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).one()
    history = wh.histories[someone]
    assert len(history.t) == own and set(history.person.tolist()) == {someone}  # their own log only
    assert [c[0] for c in wh.contacts[someone]] == [someone]
    with db.write() as s:
        people = train_people(s, default_model(), now=clock())
        n = predict_people(s, default_model(), people, now=clock())
        stored = dict(
            s.execute(sa.select(Person.id, Person.predicted).where(Person.account_id.is_not(None))).all()
        )
    r = people.report
    assert r.baselines.keys() == {"rules", "recency"} and r.n > 0
    if r.shown:
        assert n == len(stored) and all(p is not None and 0 <= p <= 1 for p in stored.values())
    else:
        assert n == 0 and set(stored.values()) == {None}
    out = io.StringIO()
    export_csv(db, "people", out, now=clock())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0])[-2:] == ["priority_rank", "account_predicted_probability"]
    by_id = {int(row["leadloop_id"]): row for row in rows}
    for pid, p in list(stored.items())[:50]:
        exported = by_id[pid]["predicted_probability"]
        assert (exported == "") if p is None else float(exported) == pytest.approx(p, abs=1e-4)


def test_a_backtest_of_a_date_not_in_the_past_says_so(db: Database, clock: FrozenClock) -> None:
    with db.read() as s, pytest.raises(NotEnoughData, match=r"is not in the past \(today is "):
        backtest(s, default_model(), as_of=clock() + timedelta(days=1), now=clock())
