"""The predictive model: trained on the warehouse's won and lost opportunities, with features as
of each opportunity's creation, calibrated, and judged on a period it did not see.

`train` holds out the latest quarter of outcomes, reports on it, then refits on everything.
`backtest(as_of)` trains only on what was known before the date and scores what came after.

Honesty first (issue 16): beside the model, every evaluation scores two baselines on the same
held-out outcomes: the current rules (the engagement score the leads list ranks by, as of each
sample's time) and a recency count that needs no training (sum of 0.5^(age / 30 days) over the
account's activities). A rolling backtest repeats this on successive windows of time. The model's
probability is shown and stored only when its held-out ROC AUC beats the best baseline by
MARGIN_SHOWN; otherwise `Report.off` says why in a sentence, and the leads keep no probability.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import numpy as np
import sqlalchemy as sa
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from leadloop.contract.vocab import MACHINE_TYPES
from leadloop.core.errors import InvalidInput
from leadloop.scoring import features as F
from leadloop.scoring.decay import epoch
from leadloop.scoring.document import ScoringModel
from leadloop.scoring.predictive_status import UNCOMPARED
from leadloop.scoring.target import Target
from leadloop.store.tables import Account, Activity, Lead, Opportunity, Person

MIN_SAMPLES = 30
MIN_PER_CLASS = 8
MARGIN_SHOWN = 0.02  # held-out ROC AUC the model must add over the best baseline to be shown
RECENCY_HALF_LIFE_DAYS = 30.0
BASELINES = {"rules": "the current rules (engagement)", "recency": "recent activity alone"}


class NotEnoughData(InvalidInput):
    """Training refused: the rules keep scoring until there is history to learn from."""


@dataclass(frozen=True)
class Sample:
    account_id: int
    cutoff: float  # the moment asked: features come from strictly before it
    label: int | None
    opened: float
    closed: float | None  # when the answer became known


@dataclass
class Report:
    n: int
    positives: int
    roc_auc: float
    pr_auc: float
    base_rate: float
    lift_by_decile: list[tuple[int, int, float, float]] = field(
        default_factory=list
    )  # decile, n, win rate, lift
    calibration: list[tuple[float, float, int]] = field(default_factory=list)  # mean predicted, observed, n
    learner: str = "gbm"  # the candidate chosen by time-ordered cross-validation
    cross_validated: dict[str, float] = field(default_factory=dict)  # candidate -> mean CV ROC AUC
    baselines: dict[str, float] = field(default_factory=dict)  # baseline -> ROC AUC, same outcomes
    # The rolling backtest: per window, [start (epoch), n, positives, model AUC, rules AUC, recency AUC]
    rolling: list[list[float]] = field(default_factory=list)
    off: str | None = None  # why the probability is not shown (None: it beat the baselines)
    # The people's model (person_predictive.py), judged the same way: n, roc_auc, baselines, off
    people: dict[str, Any] = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return self.off is None

    def lines(self) -> list[str]:
        cv = "  ".join(f"{k} {v:.3f}" for k, v in self.cross_validated.items())
        base = "  ".join(f"{k} {v:.3f}" for k, v in self.baselines.items())
        out = [
            f"learner: {self.learner} (time-ordered CV ROC AUC on the training part: {cv or 'n/a'})",
            f"n={self.n} positives={self.positives} base rate={self.base_rate:.3f}",
            f"ROC AUC {self.roc_auc:.3f}   PR AUC {self.pr_auc:.3f}   baselines: {base or 'n/a'}",
            "shown: yes, it beats the baselines"
            if self.off is None
            else f"shown: no. {self.off[0].upper()}{self.off[1:]}",
        ]
        if self.rolling:
            out.append("rolling backtest: window from  n  model  rules  recency")
            out += [
                f"{datetime.fromtimestamp(w[0], UTC).date()!s:>30} {int(w[1]):>3}  {w[3]:.3f}  {w[4]:.3f}  {w[5]:.3f}"
                for w in self.rolling
            ]
        out.append("decile  n  win-rate  lift")
        out += [f"{d:>6} {n:>3}  {r:8.3f}  {lift:4.2f}" for d, n, r, lift in self.lift_by_decile]
        out += ["predicted  observed  n"] + [f"{p:9.3f}  {o:8.3f}  {n}" for p, o, n in self.calibration]
        if self.people:
            p = self.people
            if p.get("roc_auc") is None:
                out.append(f"people's model: not trained. {p.get('off')}")
            else:
                base = "  ".join(f"{k} {v:.3f}" for k, v in (p.get("baselines") or {}).items())
                verdict = "shown on each person" if p.get("off") is None else f"not shown: {p['off']}"
                roll = p.get("rolling")
                mean = (
                    f"; rolling backtest mean: model {roll[0]:.3f}, rules {roll[1]:.3f}, recency {roll[2]:.3f}"
                    if roll
                    else ""
                )
                out.append(
                    f"people's model: held out n={p.get('n')} ROC AUC {p['roc_auc']:.3f}  baselines: {base or 'n/a'}"
                    f"{mean}; {verdict}"
                )
        return out


def evaluate(y: np.ndarray, p: np.ndarray) -> Report:
    if len(set(y.tolist())) < 2:
        raise NotEnoughData("the evaluation period has outcomes of one class only; choose another date")
    order = np.argsort(-p, kind="stable")
    base = float(y.mean())
    deciles = []
    for d, part in enumerate(np.array_split(order, 10), start=1):
        if len(part):
            rate = float(y[part].mean())
            deciles.append((d, len(part), rate, rate / base if base else 0.0))
    calibration = []
    bins = np.clip((p * 10).astype(int), 0, 9)
    for b in range(10):
        on = bins == b
        if on.any():
            calibration.append((float(p[on].mean()), float(y[on].mean()), int(on.sum())))
    return Report(
        len(y),
        int(y.sum()),
        float(roc_auc_score(y, p)),
        float(average_precision_score(y, p)),
        base,
        deciles,
        calibration,
    )


def auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC, or None when the outcomes are of one class."""
    return float(roc_auc_score(y, score)) if len(set(y.tolist())) == 2 else None


def recency(history: F.AccountHistory | None, cutoff: float) -> float:
    """Pure: the no-training baseline, sum of 0.5^(age / 30 days) over activities before `cutoff`."""
    if history is None:
        return 0.0
    ages = cutoff - history.t[history.t < cutoff]
    return float(np.sum(0.5 ** (ages / (RECENCY_HALF_LIFE_DAYS * F.DAY))))


def verdict(model_auc: float, baselines: dict[str, float], outcomes: int) -> str | None:
    """Pure: None when the model beats every baseline by MARGIN_SHOWN on held-out time; otherwise
    the sentence the product shows instead of a probability."""
    if not baselines:
        return (
            f"the model could not be compared with the simple baselines on held-out time "
            f"({outcomes} outcomes so far), so it is not shown"
        )
    best = max(baselines, key=lambda k: baselines[k])
    if model_auc >= baselines[best] + MARGIN_SHOWN:
        return None
    return (
        f"on your history the model ranks no better than {BASELINES.get(best, best)} (held-out ROC AUC "
        f"{model_auc:.3f} against {baselines[best]:.3f}; it must win by {MARGIN_SHOWN}), so leads are "
        f"ranked by the rules; it is retrained as outcomes arrive ({outcomes} so far) and shown once it wins"
    )


SNAPSHOT_EVERY_DAYS = 30.0
SNAPSHOTS_PER_LEAD = 6  # the latest ones: recent history says most about today
MAX_SAMPLES = 20_000


def snapshots(opened: float, events: Sequence[float], now: float, target: Target) -> list[tuple[float, int]]:
    """Pure: a lead asked the target's question every SNAPSHOT_EVERY_DAYS from its opening, while
    the answer is fully known (the window ended before `now`) and until its first event (after a
    win the lead is a customer, not a lead): (the moment asked, the answer)."""
    horizon, step = target.days * F.DAY, SNAPSHOT_EVERY_DAYS * F.DAY
    out: list[tuple[float, int]] = []
    t = opened
    while t + horizon <= now and not any(e <= t for e in events):
        out.append((t, int(any(t < e <= t + horizon for e in events))))
        t += step
    return out[-SNAPSHOTS_PER_LEAD:]


def samples(session: Session, *, now: datetime, target: Target = Target()) -> list[Sample]:
    """The leads' history as questions with known answers: each lead at several past moments, its
    features as of then, its answer from the opportunities that followed (`Target`). An opportunity
    counts for its own lead, or, when it names none, for its account's leads on its product (every
    lead of the account when it names no product either). In time order; thinned evenly beyond
    MAX_SAMPLES."""
    leads = session.execute(
        sa.select(Lead.id, Lead.account_id, Lead.product, Lead.opened_at).where(Lead.stage != "merged")
    ).all()
    of_account: dict[int, list[tuple[int, str]]] = {}
    for lid, acc, product, _ in leads:
        of_account.setdefault(acc, []).append((lid, product))
    events: dict[int, list[float]] = {}
    time_of = Opportunity.closed_at if target.event == "won" else Opportunity.created_at
    q = sa.select(Opportunity.lead_id, Opportunity.account_id, Opportunity.product, time_of).where(
        time_of.is_not(None)
    )
    if target.event == "won":
        q = q.where(Opportunity.outcome == "won")
    for own, on, named, at in session.execute(q):
        if at is None:
            continue
        owners = (
            [own]
            if own is not None
            else [lid for lid, p in of_account.get(on, []) if not named or p == named.lower()]
            if on is not None
            else []
        )
        for lid in owners:
            events.setdefault(lid, []).append(epoch(at))
    t_now = epoch(now)
    out = [
        Sample(int(acc), t, label, t, t + target.days * F.DAY)
        for lid, acc, _, opened in leads
        for t, label in snapshots(epoch(opened), events.get(lid, []), t_now, target)
    ]
    out.sort(key=lambda s: s.cutoff)
    if len(out) > MAX_SAMPLES:
        keep = np.linspace(0, len(out) - 1, MAX_SAMPLES).round().astype(int)
        out = [out[i] for i in sorted(set(keep.tolist()))]
    return out


@dataclass
class Warehouse:
    """What features are computed from, loaded once."""

    histories: dict[int, F.AccountHistory]
    accounts: dict[int, dict[str, object]]
    contacts: dict[int, list[F.Contact]]  # only those with an activity before a cut-off count then


WAY = {"inbound": 1, "outbound": -1}


def activity_log(
    session: Session, *, by: str = "account"
) -> list[tuple[int, float, str, int, int, int, str]]:
    """Every signal as (key, t, type, person, direction, campaign, product) for F.histories, keyed
    by its account (`by="account"`) or its person; a proxy's or scanner's hit is no signal (ADR 0032)."""
    key = Activity.account_id if by == "account" else Activity.person_id
    rows = session.execute(
        sa.select(
            key,
            Activity.occurred_at,
            Activity.type,
            Activity.person_id,
            Activity.direction,
            Activity.campaign_id,
            Activity.product,
        ).where(key.is_not(None), Activity.type.not_in(list(MACHINE_TYPES)))
    )
    return [
        (
            int(k),
            epoch(t),
            ty,
            p if p is not None else -1,
            WAY.get(d or "", 0),
            c if c is not None else -1,
            pr or "",
        )
        for k, t, ty, p, d, c, pr in rows
        if k is not None
    ]


def firmographics(session: Session) -> dict[int, dict[str, object]]:
    """Each account's feature columns, numbers as floats."""
    out: dict[int, dict[str, object]] = {}
    for a in session.scalars(sa.select(Account)):
        row: dict[str, object] = {c: getattr(a, c) for c in (*F.NUMERIC_ACCOUNT, *F.CATEGORICAL_ACCOUNT)}
        for k in F.NUMERIC_ACCOUNT:
            value = row[k]
            if value is not None:
                row[k] = float(value)  # type: ignore[arg-type]
        out[a.id] = row
    return out


def load(session: Session) -> Warehouse:
    hist = F.histories(activity_log(session, by="account"))
    accounts = firmographics(session)
    contacts: dict[int, list[F.Contact]] = {}
    for person_id, account_id, seniority, fit, department in session.execute(
        sa.select(Person.id, Person.account_id, Person.seniority, Person.fit_score, Person.department).where(
            Person.account_id.is_not(None)
        )
    ):
        if account_id is not None:
            contacts.setdefault(account_id, []).append((person_id, seniority, fit, department))
    return Warehouse(hist, accounts, contacts)


def matrix(wh: Warehouse, space: F.FeatureSpace, model: ScoringModel, items: list[Sample]) -> np.ndarray:
    return np.array(
        [
            F.row(
                space,
                model,
                wh.histories.get(s.account_id),
                wh.accounts.get(s.account_id, {}),
                wh.contacts.get(s.account_id, []),
                s.cutoff,
            )
            for s in items
        ],
        dtype=object,
    ).reshape(len(items), len(space.names()))


def estimator(space: F.FeatureSpace, *, kind: str = "gbm", seed: int = 7, n: int = 1000) -> Pipeline:
    """One candidate learner. `n` (training rows) sets how much regularisation a small history gets.

    - "rules": a calibrated logistic regression on the two rule scores (fit and engagement) only;
    - "logistic": regularised logistic regression on every feature;
    - "gbm": shallow, calibrated gradient boosting on every feature.
    """
    n_num = space.n_numeric
    num = list(range(n_num))
    cat = list(range(n_num, n_num + len(space.categorical)))
    scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    onehot = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)
    if kind == "rules":
        names = space.names()
        rules = [names.index("engagement"), names.index("best_fit")]
        return Pipeline(
            [("prep", ColumnTransformer([("num", scaled, rules)])), ("clf", LogisticRegression())]
        )
    if kind == "logistic":
        prep = ColumnTransformer([("num", scaled, num), ("cat", onehot, cat)])
        return Pipeline([("prep", prep), ("clf", LogisticRegression(max_iter=3000, C=0.05))])
    prep = ColumnTransformer([("num", "passthrough", num), ("cat", onehot, cat)])
    gbm = HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=max(20, n // 40),
        l2_regularization=1.0,
        random_state=seed,
    )
    return Pipeline([("prep", prep), ("clf", CalibratedClassifierCV(gbm, method="sigmoid", cv=3))])


CANDIDATES = ("rules", "logistic", "gbm")
MARGIN = 0.01  # CV ROC AUC a learner must add over the calibrated rules


def select(space: F.FeatureSpace, x: np.ndarray, y: np.ndarray) -> tuple[str, dict[str, float]]:
    """Pick the learner by time-ordered cross-validation on the training rows alone (each fold
    trains on the past and scores the future). On a small or noisy history the calibrated rules
    often win, and then the model says so instead of pretending to know better."""
    scores: dict[str, list[float]] = {k: [] for k in CANDIDATES}
    for past, future in TimeSeriesSplit(n_splits=4).split(x):
        if (
            len(set(y[past].tolist())) < 2
            or len(set(y[future].tolist())) < 2
            or min(np.bincount(y[past])) < 4
        ):
            continue
        for kind in CANDIDATES:
            pipe = _fit(estimator(space, kind=kind, n=len(past)), x[past], y[past])
            scores[kind].append(float(roc_auc_score(y[future], pipe.predict_proba(x[future])[:, 1])))
    mean = {k: float(np.mean(v)) for k, v in scores.items() if v}
    if not mean:
        return "rules", {}
    best = max(mean, key=lambda k: (round(mean[k], 3), -CANDIDATES.index(k)))
    # Parsimony: a learner must beat the calibrated rules by a clear margin to replace them;
    # on a small, noisy history a lucky fold is not evidence.
    if "rules" in mean and best != "rules" and mean[best] < mean["rules"] + MARGIN:
        return "rules", mean
    return best, mean


def _check(items: list[Sample], what: str, target: Target) -> None:
    pos = sum(1 for s in items if s.label == 1)
    neg = sum(1 for s in items if s.label == 0)
    if pos + neg == 0:
        raise NotEnoughData(
            f"{what} has no lead whose answer is known yet (a lead and {target.days} days after it); "
            "until it does the rules alone score leads"
        )
    if pos == 0 or neg == 0:
        raise NotEnoughData(
            f"{what} has only leads that {'did' if pos else 'did not'} reach {target.describe()} "
            f"({pos + neg}); a model needs both outcomes"
        )
    if pos + neg < MIN_SAMPLES or min(pos, neg) < MIN_PER_CLASS:
        raise NotEnoughData(
            f"{what} has {pos} leads that reached {target.describe()} and {neg} that did not; training "
            f"needs at least {MIN_SAMPLES} in all and {MIN_PER_CLASS} of each. Until then the rules alone "
            "score leads."
        )


P = ParamSpec("P")
R = TypeVar("R")


def one_thread(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with one native thread per library (see _fit)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(1):
            return fn(*args, **kwargs)

    return run


def _fit(pipe: Pipeline, x: np.ndarray, y: np.ndarray) -> Pipeline:
    # One native thread: the gradient boosting's OpenMP threads spin-wait for a core, so beside a
    # web server, a sweeper or any other busy process a fit took 70 times longer (68 s against
    # 0.9 s for 1,726 rows, measured); a background retrain should not take both cores anyway.
    with warnings.catch_warnings(), threadpool_limits(1):
        # Rare categories and near-constant columns are expected in real warehouses.
        warnings.simplefilter("ignore", category=UserWarning)
        pipe.fit(x, y)
    return pipe


@dataclass
class Trained:
    pipeline: Pipeline
    space: F.FeatureSpace
    report: Report
    trained_on: int
    reference: list[object] = field(default_factory=list)  # a typical row: medians and most common values


def _baselines(
    wh: Warehouse, space: F.FeatureSpace, x: np.ndarray, y: np.ndarray, items: list[Sample]
) -> dict[str, float]:
    """The rules' and the recency count's ROC AUC on the same outcomes (as of each sample's time)."""
    rules = x[:, space.names().index("engagement")].astype(float)
    fresh = np.array([recency(wh.histories.get(s.account_id), s.cutoff) for s in items])
    out = {"rules": auc(y, rules), "recency": auc(y, fresh)}
    return {k: v for k, v in out.items() if v is not None}


def rolling(
    wh: Warehouse,
    space: F.FeatureSpace,
    x: np.ndarray,
    y: np.ndarray,
    items: list[Sample],
    learner: str,
    *,
    starts: tuple[float, ...] = (0.55, 0.7, 0.85),
) -> list[list[float]]:
    """A rolling-origin backtest: for each start, train on every earlier outcome, score the next
    window of outcomes, beside the baselines on that window. Windows with one class are skipped."""
    out: list[list[float]] = []
    n = len(items)
    for i, start in enumerate(starts):
        a = int(n * start)
        b = int(n * starts[i + 1]) if i + 1 < len(starts) else n
        past, window = y[:a], y[a:b]
        if len(set(past.tolist())) < 2 or len(set(window.tolist())) < 2 or min(np.bincount(past)) < 4:
            continue
        pipe = _fit(estimator(space, kind=learner, n=a), x[:a], past)
        model_auc = auc(window, pipe.predict_proba(x[a:b])[:, 1])
        base = _baselines(wh, space, x[a:b], window, items[a:b])
        if model_auc is None or len(base) < 2:
            continue
        out.append([items[a].cutoff, b - a, int(window.sum()), model_auc, base["rules"], base["recency"]])
    return out


def judge(report: Report, outcomes: int) -> None:
    """Decide whether the model is shown: on the rolling backtest's mean when it has windows (steadier
    than one), else on the held-out part alone."""
    if report.rolling:
        mean = np.mean(np.array(report.rolling)[:, 3:], axis=0)
        report.off = verdict(float(mean[0]), {"rules": float(mean[1]), "recency": float(mean[2])}, outcomes)
    else:
        report.off = verdict(report.roc_auc, report.baselines, outcomes)


def train(
    session: Session,
    model: ScoringModel,
    *,
    now: datetime,
    target: Target = Target(),
    holdout: float = 0.25,
) -> Trained:
    """Hold out the latest outcomes, report on them beside the baselines and over a rolling
    backtest, decide whether the model may be shown, and refit on everything."""
    return train_on(
        samples(session, now=now, target=target), load(session), model, target=target, holdout=holdout
    )


@one_thread
def train_on(
    items: list[Sample], wh: Warehouse, model: ScoringModel, *, target: Target, holdout: float = 0.25
) -> Trained:
    """`train` on given questions and the warehouse their features come from: the leads' (keyed by
    account) or the people's (keyed by person, person_predictive.py)."""
    _check(items, "the warehouse", target)
    space = F.choose_space(wh.histories, list(wh.accounts.values()))
    cut = int(len(items) * (1 - holdout))
    head, tail = items[:cut], items[cut:]
    _check(head, "the training part", target)
    x_all, y_all = matrix(wh, space, model, items), np.array([s.label for s in items])
    x_head, x_tail, y_head, y_tail = x_all[:cut], x_all[cut:], y_all[:cut], y_all[cut:]
    learner, cv = select(space, x_head, y_head)
    pipe = _fit(estimator(space, kind=learner, n=len(head)), x_head, y_head)
    report = evaluate(y_tail, pipe.predict_proba(x_tail)[:, 1])
    report.learner, report.cross_validated = learner, cv
    report.baselines = _baselines(wh, space, x_tail, y_tail, tail)
    report.rolling = rolling(wh, space, x_all, y_all, items, learner)
    judge(report, len(items))
    final = _fit(estimator(space, kind=learner, n=len(items)), x_all, y_all)
    return Trained(final, space, report, len(items), reference=reference_row(space, x_all))


@one_thread
def backtest(
    session: Session, model: ScoringModel, *, as_of: datetime, now: datetime, target: Target = Target()
) -> Trained:
    """Train on the answers known before `as_of`, evaluate on the leads asked on or after it (with
    answers known by `now`). Features are always as of the moment asked."""
    if as_of >= now:
        raise NotEnoughData(
            f"{as_of.date()} is not in the past (today is {now.date()}): a backtest trains on what was "
            "known before a past date and checks what followed it"
        )
    t = epoch(as_of)
    items = samples(session, now=now, target=target)
    known = [s for s in items if s.closed is not None and s.closed < t]
    after = [s for s in items if s.opened >= t]
    _check(known, f"the history before {as_of.date()}", target)
    if not after:
        raise NotEnoughData(f"no lead asked on or after {as_of.date()} has a known answer yet to evaluate on")
    wh = load(session)
    space = F.choose_space(wh.histories, list(wh.accounts.values()))
    known.sort(key=lambda s: s.cutoff)
    x_known, y_known = matrix(wh, space, model, known), np.array([s.label for s in known])
    learner, cv = select(space, x_known, y_known)
    pipe = _fit(estimator(space, kind=learner, n=len(known)), x_known, y_known)
    x_after, y_after = matrix(wh, space, model, after), np.array([s.label for s in after])
    report = evaluate(y_after, pipe.predict_proba(x_after)[:, 1])
    report.learner, report.cross_validated = learner, cv
    report.baselines = _baselines(wh, space, x_after, y_after, after)
    report.off = verdict(report.roc_auc, report.baselines, len(known))
    return Trained(pipe, space, report, len(known), reference=reference_row(space, x_known))


def reference_row(space: F.FeatureSpace, x: np.ndarray) -> list[object]:
    """A typical account: the median of each number, the most common value of each category."""
    n_num = space.n_numeric
    out: list[object] = []
    for j in range(x.shape[1]):
        col = x[:, j]
        if j < n_num:
            values = col.astype(float)
            out.append(float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan)
        else:
            kinds, counts = np.unique(col.astype(str), return_counts=True)
            out.append(str(kinds[int(np.argmax(counts))]) if len(kinds) else "")
    return out


def _same(value: object, reference: object) -> bool:
    if isinstance(value, float) and isinstance(reference, float) and np.isnan(value) and np.isnan(reference):
        return True
    return bool(value == reference)


@one_thread
def why(trained: Trained, x: np.ndarray, *, top: int = 3) -> list[list[list[object]]]:
    """For each row, the features that move its probability most, measured by setting each one in
    turn to the typical account's value (occlusion): [[label, change in probability], ...].
    It works for any learner, and answers in probabilities a person can read."""
    if not len(x) or not trained.reference:
        return [[] for _ in range(len(x))]
    base = trained.pipeline.predict_proba(x)[:, 1]
    names = trained.space.names()
    deltas = np.zeros((len(x), len(names)))
    for j, ref in enumerate(trained.reference):
        # Only the rows whose value differs from the typical one can move; most activity counts
        # are the typical zero, so this predicts a fraction of the rows per feature.
        differ = np.array([not _same(v, ref) for v in x[:, j]], dtype=bool)
        if not differ.any():
            continue
        moved = x[differ].copy()
        moved[:, j] = ref
        deltas[differ, j] = base[differ] - trained.pipeline.predict_proba(moved)[:, 1]
    out: list[list[list[object]]] = []
    for i in range(len(x)):
        order = np.argsort(-np.abs(deltas[i]), kind="stable")[:top]
        out.append(
            [[F.label(names[j]), round(float(deltas[i, j]), 4)] for j in order if abs(deltas[i, j]) >= 0.005]
        )
    return out


@dataclass(frozen=True)
class Prediction:
    lead_id: int
    probability: float
    why: list[list[object]]
    value: float | None = None  # probability times expected deal size (values.py), in the default currency
    basis: str | None = None  # where the size comes from, or why there is no value


@one_thread
def predictions(
    session: Session, model: ScoringModel, trained: Trained, *, now: datetime
) -> list[Prediction]:
    """Each lead's probability of a won opportunity as of now, and why. Reads only."""
    from leadloop.store.tables import Lead

    leads = session.execute(sa.select(Lead.id, Lead.account_id)).all()
    if not leads:
        return []
    wh = load(session)
    t = epoch(now)
    x = matrix(wh, trained.space, model, [Sample(a, t, None, t, None) for _, a in leads])
    p = trained.pipeline.predict_proba(x)[:, 1]
    return [
        Prediction(lead_id, float(v), r) for (lead_id, _), v, r in zip(leads, p, why(trained, x), strict=True)
    ]


def write_predictions(session: Session, items: list[Prediction]) -> None:
    from leadloop.store.tables import Lead

    if items:
        session.execute(
            sa.update(Lead),
            [
                {
                    "id": i.lead_id,
                    "predicted": i.probability,
                    "predicted_why": i.why,
                    "expected_value": i.value,
                    "expected_value_basis": None if i.basis is None else i.basis[:300],
                }
                for i in items
            ],
        )


def clear_predictions(session: Session) -> None:
    from leadloop.store.tables import Lead

    session.execute(
        sa.update(Lead)
        .where(Lead.predicted.is_not(None))
        .values(predicted=None, predicted_why=None, expected_value=None, expected_value_basis=None)
    )


def save(session: Session, trained: Trained, *, now: datetime) -> int:
    import pickle

    from leadloop.store.tables import PredictiveModelRow

    session.execute(
        sa.update(PredictiveModelRow).where(PredictiveModelRow.status == "active").values(status="retired")
    )
    row = PredictiveModelRow(
        created_at=now,
        trained_on=trained.trained_on,
        status="active",
        report=trained.report.__dict__,
        blob=pickle.dumps((trained.pipeline, trained.space, trained.reference)),
    )
    session.add(row)
    session.flush()
    return row.id


def active_report(session: Session) -> tuple[datetime, int, Report] | None:
    from leadloop.store.tables import PredictiveModelRow

    row = session.scalars(sa.select(PredictiveModelRow).where(PredictiveModelRow.status == "active")).first()
    if row is None:
        return None
    r = dict(row.report)
    if "off" not in r:  # a model stored before the baselines existed was never compared with them
        r["off"] = UNCOMPARED
    r["lift_by_decile"] = [tuple(x) for x in r.get("lift_by_decile", [])]
    r["calibration"] = [tuple(x) for x in r.get("calibration", [])]
    return row.created_at, row.trained_on, Report(**r)
