"""bench/scoring_world.py: how well each Leadloop score ranks today's leads on a world you bring
(issue 16, item 7), beside the simple baselines, on held-out time.

A world is import-contract CSVs (accounts.csv, people.csv, activities.csv, opportunities.csv; any
may be missing). At the cut, Leadloop holds only what was known then: the activities before it, the
opportunities created before it (as open if they closed after it). It is imported through the normal
import, with the clock at the cut. Then, for each lead Leadloop has at the cut, the question a sales
leader asks: will its account (and product) win a deal (`--target won`) or open one (`--target
created`) within the next `--days` days? The answer comes from the full files.

Scores compared (ROC AUC, lift in the top decile, and calibration for the probabilities):
- Leadloop engagement (the leads list's order), fit score, and the predictive model's probability
  (trained on what Leadloop knew at the cut, whether or not it would be shown);
- recency: sum of 0.5^(age / 30 days) over the lead's activities, no training;
- analyst: a logistic regression on counts an analyst builds from the same files (activities per
  type in 30/90/365 days, days since the last touch, firmographics, product), trained on the same
  question asked `--days` earlier, with its answer from the window before the cut.

    python bench/scoring_world.py --maven                    # the public CRM Sales Opportunities data
    python bench/scoring_world.py --demo                     # the demo world
    python bench/scoring_world.py --world DIR --cut 2017-07-01 [--days 90] [--target won]
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite
from leadloop.capture.importer import run_import
from leadloop.contract.normalise import parse_datetime
from leadloop.core.errors import InvalidInput
from leadloop.scoring import predictive as P
from leadloop.scoring.decay import Decaying, decay_rate, epoch
from leadloop.scoring.fit import evaluate_fit
from leadloop.scoring.handlers import ACCOUNT_FIT_FIELDS
from leadloop.scoring.learn import FitLearned
from leadloop.scoring.repository import active_model
from leadloop.scoring.suggest import suggest
from leadloop.scoring.target import Target
from leadloop.store.tables import Account, Lead

ENTITIES = ("accounts", "people", "activities", "opportunities")
MAVEN = Path(__file__).parent / "data" / "maven_crm"
DAY = timedelta(days=1)
Row = dict[str, str]


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def read_world(folder: Path) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for name in ENTITIES:
        path = folder / f"{name}.csv"
        out[name] = list(csv.DictReader(path.open(encoding="utf-8"))) if path.exists() else []
    return out


def as_of(world: dict[str, list[Row]], cut: datetime) -> dict[str, list[Row]]:
    """What was known at the cut: earlier activities; opportunities created before it, open if they
    closed after it."""
    acts = [r for r in world["activities"] if (t := _when(r.get("occurred_at"))) and t < cut]
    opps = []
    for r in world["opportunities"]:
        created = _when(r.get("created_at"))
        if created is None or created >= cut:
            continue
        closed = _when(r.get("closed_at"))
        if r.get("outcome") in ("won", "lost") and closed is not None and closed >= cut:
            r = {k: v for k, v in r.items() if k not in ("closed_at", "lost_reason")} | {
                "outcome": "open",
                "stage": "Open",
            }
        opps.append(r)
    return {**world, "activities": acts, "opportunities": opps}


def _write(rows: list[Row], path: Path) -> None:
    keys = sorted({k for r in rows for k in r if not k.startswith("_")})  # "_": the bench's own
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


@dataclass
class LeadAtCut:
    account: str  # external id
    product: str
    engagement: float
    fit: float
    predicted: float | None
    suggested_fit: float | None = None  # the fit score under the rules the history suggests


SUGGESTED: list[str] = []  # what `suggest` said on the last world imported


def leadloop_at(
    world: dict[str, list[Row]], cut: datetime, tmp: Path, *, target: str, days: int
) -> tuple[list[LeadAtCut], str]:
    """Import what was known at the cut with the clock there; every lead's scores then."""
    db = fresh_sqlite(tmp / "world.db")
    for name in ENTITIES:
        if world[name]:
            _write(world[name], tmp / f"{name}.csv")
            run_import(db, name, tmp / f"{name}.csv", now=lambda: cut, rejects_file=False)
    with db.read() as s:
        model, _ = active_model(s)
        rate = decay_rate(model.engagement.half_life_days)
        probs: dict[int, float] = {}
        try:
            trained = P.train(s, model, now=cut, target=Target(target, days))
            verdict = "shown" if trained.report.shown else f"kept off: {trained.report.off}"
            probs = {p.lead_id: p.probability for p in P.predictions(s, model, trained, now=cut)}
        except InvalidInput as exc:
            verdict = f"not trained: {exc}"
        # What the history suggests (issue 16 item 4), judged by itself on held-out history; the
        # bench also scores today's leads with the suggested fit rules (account fields only).
        found = suggest(s, now=cut, target=Target(target, days))
        suggested_fit: dict[int, float] = {}
        if isinstance(found.fit, FitLearned) and found.fit.better and found.model is not None:
            for lid, acct in s.execute(
                sa.select(Lead.id, Account).join(Account, Account.id == Lead.account_id)
            ):
                fields = {f: getattr(acct, f) for f in ACCOUNT_FIT_FIELDS}
                suggested_fit[lid] = evaluate_fit(found.model, {}, fields).score
        SUGGESTED[:] = found.lines()
        rows = s.execute(
            sa.select(
                Account.external_id,
                Lead.id,
                Lead.product,
                Lead.engagement_s,
                Lead.engagement_t0,
                Lead.fit_score,
            )
            .join(Account, Account.id == Lead.account_id)
            .where(Lead.stage.not_in(("merged", "won")))
        ).all()
    leads = [
        LeadAtCut(
            str(ext),
            product,
            Decaying(s_, t0).current(epoch(cut), rate),
            fit if fit is not None else 0.0,
            probs.get(lid),
            suggested_fit.get(lid),
        )
        for ext, lid, product, s_, t0, fit in rows
        if ext is not None
    ]
    return leads, verdict


def labels(
    world: dict[str, list[Row]], keys: Iterable[tuple[str, str]], cut: datetime, days: int, target: str
) -> np.ndarray:
    """1 when the lead's account wins (or opens) a deal in (cut, cut + days] on its product, or a
    deal that names no product."""
    end = cut + days * DAY
    hit: set[tuple[str, str]] = set()
    for r in world["opportunities"]:
        if target == "won":
            at = _when(r.get("closed_at")) if r.get("outcome") == "won" else None
        else:
            at = _when(r.get("created_at"))
        if at is not None and cut < at <= end:
            hit.add((r.get("account_external_id") or "", (r.get("product") or "").lower()))
    return np.array([int((a, p) in hit or (a, "") in hit) for a, p in keys], dtype=int)


def _touches(world: dict[str, list[Row]]) -> dict[str, list[tuple[datetime, str, str]]]:
    """Each account's activities: (when, type, product; "" for none)."""
    out: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for r in world["activities"]:
        at = _when(r.get("occurred_at"))
        acc = r.get("account_external_id") or r.get("_account") or ""
        if at is not None and acc:
            out[acc].append((at, r.get("type") or "", (r.get("product") or "").lower()))
    return out


def _of(
    touches: dict[str, list[tuple[datetime, str, str]]], key: tuple[str, str]
) -> list[tuple[datetime, str]]:
    """A lead's activities: its account's on its product, and those naming no product."""
    acc, product = key
    return [(t, k) for t, k, p in touches.get(acc, []) if p in ("", product)]


def recency(touches: list[tuple[datetime, str]], cut: datetime) -> float:
    return sum(0.5 ** ((cut - t) / (30 * DAY)) for t, _ in touches if t < cut)


def analyst_rows(
    world: dict[str, list[Row]], keys: list[tuple[str, str]], cut: datetime, types: list[str]
) -> list[list[Any]]:
    touches = _touches(world)
    firm = {r.get("external_id", ""): r for r in world["accounts"]}
    out = []
    for acc, product in keys:
        seen = [(t, k) for t, k in _of(touches, (acc, product)) if t < cut]
        counts = [
            sum(1 for t, k in seen if k == kind and cut - t <= w * DAY)
            for w in (30, 90, 365)
            for kind in types
        ]
        last = min(((cut - t) / DAY for t, _ in seen), default=999.0)
        a = firm.get(acc, {})
        out.append(
            [
                *counts,
                last,
                math.log1p(float(a.get("employees") or 0)),
                math.log1p(float(a.get("annual_revenue") or 0)),
                a.get("industry") or "",
                product,
            ]
        )
    return out


def analyst_model(n_numeric: int) -> Pipeline:
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), list(range(n_numeric))),
            ("cat", OneHotEncoder(handle_unknown="ignore"), [n_numeric, n_numeric + 1]),
        ]
    )
    return make_pipeline(prep, LogisticRegression(max_iter=2000, C=0.5))


def lift(y: np.ndarray, score: np.ndarray) -> float:
    top = np.argsort(-score, kind="stable")[: max(1, len(y) // 10)]
    return float(y[top].mean() / y.mean()) if y.mean() else float("nan")


def calibration(y: np.ndarray, p: np.ndarray) -> str:
    bins = np.clip((p * 5).astype(int), 0, 4)
    return "  ".join(
        f"{p[bins == b].mean():.2f}->{y[bins == b].mean():.2f} (n={int((bins == b).sum())})"
        for b in range(5)
        if (bins == b).any()
    )


def last_record(world: dict[str, list[Row]]) -> datetime | None:
    """The latest date any file of the world states."""
    dates = [
        d
        for rows in world.values()
        for r in rows
        for k in ("occurred_at", "created_at", "closed_at")
        if (d := _when(r.get(k))) is not None
    ]
    return max(dates, default=None)


def evaluate(name: str, world: dict[str, list[Row]], cut: datetime, days: int, target: str) -> None:
    last = last_record(world)
    if last is None or cut + days * DAY > last:
        raise SystemExit(
            f"{name}: the cut {cut.date()} plus {days} days ends after the world's last record "
            f"({last.date() if last else 'none'}): the answers are not known yet; choose an earlier cut"
        )
    with tempfile.TemporaryDirectory() as tmp:
        leads, verdict = leadloop_at(as_of(world, cut), cut, Path(tmp), target=target, days=days)
    if not leads:
        print(f"{name}: Leadloop holds no lead at {cut.date()}")
        return
    keys = [(x.account, x.product) for x in leads]
    y = labels(world, keys, cut, days, target)
    touches = _touches(world)
    types = sorted({r.get("type") or "" for r in world["activities"]})
    earlier = cut - days * DAY
    train_keys = sorted(set(keys))
    x_train = analyst_rows(world, train_keys, earlier, types)
    y_train = labels(world, train_keys, earlier, days, target)
    scores: dict[str, np.ndarray] = {
        "Leadloop engagement (the leads list's order)": np.array([x.engagement for x in leads]),
        "Leadloop fit score": np.array([x.fit for x in leads]),
        "recency count, no training": np.array([recency(_of(touches, k), cut) for k in keys]),
    }
    if all(x.suggested_fit is not None for x in leads):
        scores["Leadloop fit score, rules the history suggests"] = np.array([x.suggested_fit for x in leads])
    probs: dict[str, np.ndarray] = {}
    if all(x.predicted is not None for x in leads):
        probs["Leadloop predicted probability"] = np.array([x.predicted for x in leads], dtype=float)
    if len(set(y_train.tolist())) == 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lr = analyst_model(len(types) * 3 + 3).fit(np.array(x_train, dtype=object), y_train)
            probs["analyst logistic regression"] = lr.predict_proba(
                np.array(analyst_rows(world, keys, cut, types), dtype=object)
            )[:, 1]
    print(f"\n{name}: cut {cut.date()}, target: {target} within {days} days")
    print(
        f"  {len(leads)} leads at the cut, {int(y.sum())} positive ({y.mean():.1%}); predictive model {verdict}"
    )
    if len(set(y.tolist())) < 2:
        print("  one class only: no AUC")
        return
    print(f"  {'score':46s} {'ROC AUC':>8s} {'top-decile lift':>16s}")
    for label, s in {**scores, **probs}.items():
        print(f"  {label:46s} {roc_auc_score(y, s):8.3f} {lift(y, s):16.2f}")
    for label, p in probs.items():
        print(f"  calibration, {label}: {calibration(y, p)}")
    print("  what the history suggests (scoring suggest), judged on its own held-out history:")
    for line in SUGGESTED:
        print(f"    {line.strip()}")


def maven_world() -> dict[str, list[Row]]:
    """Maven Analytics' public CRM Sales Opportunities (bench/data/maven_crm): 85 accounts, 8,800
    deals with their engage and close dates. A deal's engagement is a meeting on that product."""
    accounts = [
        {
            "external_id": r["account"],
            "name": r["account"],
            "industry": r["sector"],
            "employees": r["employees"],
            "annual_revenue": str(round(float(r["revenue"]) * 1e6)),
            "country": "",
        }
        for r in csv.DictReader((MAVEN / "accounts.csv").open(encoding="utf-8"))
    ]
    acts, opps = [], []
    for r in csv.DictReader((MAVEN / "sales_pipeline.csv").open(encoding="utf-8")):
        if not r["account"] or not r["engage_date"]:
            continue  # a prospect with no account or no engagement yet
        product = r["product"].replace("GTXPro", "GTX Pro").lower()
        acts.append(
            {
                "type": "meeting",
                "account_external_id": r["account"],
                "product": product,
                "occurred_at": r["engage_date"],
                "external_id": f"M-{r['opportunity_id']}",
            }
        )
        stage = r["deal_stage"]
        opp = {
            "external_id": r["opportunity_id"],
            "account_external_id": r["account"],
            "product": product,
            "created_at": r["engage_date"],
            "amount": r["close_value"] or "",
            "outcome": {"Won": "won", "Lost": "lost"}.get(stage, "open"),
            "stage": stage,
        }
        if stage in ("Won", "Lost"):
            opp["closed_at"] = r["close_date"]
        opps.append(opp)
    return {"accounts": accounts, "people": [], "activities": acts, "opportunities": opps}


def demo_world(now: datetime, accounts: int) -> dict[str, list[Row]]:
    from leadloop.demo.world import build_world

    w = build_world(seed=7, n_accounts=accounts, n_people=accounts * 4, now=now)
    people = {p["email"].lower(): p for p in w.people}

    def account_of(a: dict[str, Any]) -> str:
        p = people.get(str(a.get("email", "")).lower())
        return str(p.get("account_external_id", "")) if p else ""

    acts = [{k: str(v) for k, v in a.items()} | {"_account": account_of(a)} for a in w.activities]
    return {
        "accounts": [{k: str(v) for k, v in a.items()} for a in w.accounts],
        "people": [{k: str(v) for k, v in p.items()} for p in w.people],
        "activities": acts,
        "opportunities": [{k: str(v) for k, v in o.items()} for o in w.opportunities],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", type=Path)
    ap.add_argument("--maven", action="store_true")
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--demo-accounts", type=int, default=3000)
    ap.add_argument("--cut", help="YYYY-MM-DD (default: 2017-07-01 for --maven, 120 days ago for --demo)")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--target", choices=("won", "created"), default="won")
    a = ap.parse_args()
    if a.maven:
        evaluate(
            "CRM Sales Opportunities (public)", maven_world(), _cut(a.cut or "2017-07-01"), a.days, a.target
        )
    if a.demo:
        now = datetime(2026, 11, 1, tzinfo=UTC)
        cut = _cut(a.cut) if a.cut else now - timedelta(days=120)
        evaluate(
            f"demo world ({a.demo_accounts:,} accounts)",
            demo_world(now, a.demo_accounts),
            cut,
            a.days,
            a.target,
        )
    if a.world:
        if not a.cut:
            ap.error("--world needs --cut")
        evaluate(str(a.world), read_world(a.world), _cut(a.cut), a.days, a.target)
    if not (a.maven or a.demo or a.world):
        ap.error("give --maven, --demo or --world DIR")


def _cut(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


if __name__ == "__main__":
    main()
