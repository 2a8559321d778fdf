"""p95 of each report query (issue 15) beside a floor: one indexed count(*) over lead_facts in the
same run. Builds a synthetic warehouse with executemany (leads with stage histories, routing
assignments, opportunities in two currencies, activities), rebuilds the report facts once (timed:
that is the timer's daily full rebuild), then times each report `--runs` times.

    PYTHONPATH=src .venv/bin/python bench/analytics.py --leads 100000 --activities 1000000
    (the issue's scale: --leads 1000000 --activities 10000000; --pg URL for PostgreSQL)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.analytics.attribution_report import attribution_report
from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import Money, ReportFilters
from leadloop.analytics.shapes import REPORTS, Ask
from leadloop.bootstrap import session_info
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from leadloop.store.tables import (
    LEAD_CUBE,
    Account,
    Activity,
    Campaign,
    Lead,
    LeadFactRow,
    LeadStageChange,
    Opportunity,
    Person,
    Team,
    User,
)

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite, pct

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PATH = ["inquiry", "mql", "sal", "sql", "opportunity", "won"]


def build(db: Database, leads: int, activities: int, seed: int = 1) -> None:
    """Typed bulk inserts (executemany through each table's own column types)."""
    rnd = random.Random(seed)

    def t(days: float) -> datetime:
        return NOW - timedelta(days=days)

    T = {
        m.__tablename__: m.__table__
        for m in (Team, User, Campaign, Account, Person, Lead, LeadStageChange, Opportunity, Activity)
    }
    with db.engine.begin() as c:
        c.execute(
            T["teams"].insert(),
            [
                {"id": i, "name": n, "is_queue": False, "created_at": NOW}
                for i, n in ((1, "East"), (2, "West"))
            ],
        )
        c.execute(
            T["users"].insert(),
            [
                {
                    "id": i,
                    "email": f"rep{i}@x",
                    "name": f"Rep {i}",
                    "role": "rep",
                    "team_id": 1 + i % 2,
                    "active": True,
                    "created_at": NOW,
                    "timezone": "UTC",
                    "must_change_password": False,
                }
                for i in range(1, 41)
            ],
        )
        c.execute(
            T["campaigns"].insert(),
            [
                {
                    "id": i,
                    "name": f"c{i}",
                    "channel": ["web", "event", "paid"][i % 3],
                    "cost": Decimal(1000 * i),
                    "created_at": NOW,
                }
                for i in range(1, 51)
            ],
        )
        step = 20_000
        for lo in range(1, leads + 1, step):
            accs, people, lrows, moves, opps = [], [], [], [], []
            for i in range(lo, min(leads + 1, lo + step)):
                accs.append(
                    {
                        "id": i,
                        "name": f"a{i}",
                        "name_key": f"a{i}",
                        "created_at": t(900),
                        "updated_at": t(900),
                        "attributes": {},
                    }
                )
                people.append(  # one person an account: the activities are theirs (attribution's touches)
                    {
                        "id": i,
                        "account_id": i,
                        "email": f"p{i}@a{i}.example",
                        "attributes": {},
                        "created_at": t(900),
                        "updated_at": t(900),
                        "engagement_s": 0.0,
                        "engagement_t0": 0.0,
                        "engagement_key": -1.0e300,
                    }
                )
                opened = t(rnd.uniform(0, 720))
                depth = rnd.choices(range(6), weights=[40, 25, 12, 10, 8, 5])[0]
                stamps = [opened + timedelta(hours=k * rnd.uniform(5, 300)) for k in range(depth + 1)]
                mql = stamps[1] if depth >= 1 else None
                lrows.append(
                    {
                        "id": i,
                        "account_id": i,
                        "product": "general",
                        "stage": PATH[depth],
                        "owner_user_id": 1 + i % 40,
                        "source": ["web", "event", None][i % 3],
                        "campaign_id": 1 + i % 50,
                        "opened_at": opened,
                        "stage_changed_at": stamps[-1],
                        "last_activity_at": stamps[-1],
                        "buying_roles": [],
                        "mql_at": mql,
                        "assigned_at": mql,
                        "sla_due_at": mql + timedelta(minutes=30) if mql else None,
                        "first_touch_at": mql + timedelta(minutes=rnd.expovariate(1 / 120))
                        if mql and rnd.random() < 0.8
                        else None,
                    }
                )
                prev = None
                for k, at in enumerate(stamps):
                    moves.append(
                        {
                            "lead_id": i,
                            "at": at,
                            "recorded_at": at,
                            "from_stage": prev,
                            "to_stage": PATH[k],
                            "trigger": "opened" if k == 0 else "reached_mql",
                        }
                    )
                    prev = PATH[k]
                if depth >= 4:
                    opps.append(
                        {
                            "id": i,
                            "account_id": i,
                            "lead_id": i,
                            "product": "general",
                            "created_at": stamps[4],
                            "closed_at": stamps[5] if depth == 5 else None,
                            "outcome": "won" if depth == 5 else rnd.choice(["open", "lost"]),
                            "amount": Decimal(rnd.randint(1000, 90000)),
                            "currency": ["EUR", "USD"][i % 2],
                        }
                    )
            c.execute(T["accounts"].insert(), accs)
            c.execute(T["people"].insert(), people)
            c.execute(T["leads"].insert(), lrows)
            c.execute(T["lead_stage_changes"].insert(), moves)
            if opps:
                c.execute(T["opportunities"].insert(), opps)
        types = ["page_view"] * 6 + ["email_click", "form_submit", "call", "email_sent"]
        for lo in range(0, activities, 100_000):
            rows = [
                {
                    "dedupe_key": f"b{j}",
                    "account_id": (who := 1 + rnd.randrange(leads)),
                    "person_id": who,
                    "type": rnd.choice(types),
                    "occurred_at": t(rnd.uniform(0, 900)),
                    "recorded_at": NOW,
                    "source": "demo",
                    "campaign_id": 1 + j % 50,
                    "payload": {},
                }
                for j in range(lo, min(activities, lo + 100_000))
            ]
            c.execute(T["activities"].insert(), rows)


def _attribution(s: Session, a: Ask) -> object:
    """The marketing dashboard's attribution: every model, by campaign, over the range."""
    return attribution_report(s, now=a.now, start=a.filters.start, end=a.filters.end)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database) instead of SQLite")
    ap.add_argument("--path", default="/tmp/leadloop-analytics-bench.db")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="time the reports on the SQLite file a previous run built (--path)",
    )
    a = ap.parse_args()
    if a.pg:
        engine = make_engine(a.pg)
        upgrade(engine)
        db = Database(engine, info=session_info())
    elif a.reuse:
        engine = make_engine(f"sqlite:///{a.path}")
        upgrade(engine)
        db = Database(engine, info=session_info())
    else:
        db = fresh_sqlite(Path(a.path))
    if not a.reuse:
        started = time.perf_counter()
        build(db, a.leads, a.activities)
        print(
            f"built {a.leads:,} leads, {a.activities:,} activities in {time.perf_counter() - started:.0f} s"
        )
        started = time.perf_counter()
        with db.write() as s:
            done = refresh(s, now=NOW, full=True)
        print(f"full facts rebuild: {done.leads:,} leads in {time.perf_counter() - started:.1f} s")
    with db.read() as s:
        print(
            f"{s.scalar(sa.select(sa.func.count()).select_from(LeadFactRow)):,} lead facts, "
            f"{s.scalar(sa.select(sa.func.count()).select_from(LEAD_CUBE)):,} rollup rows"
        )
    started = time.perf_counter()
    with db.write() as s:
        refresh(s, now=NOW + timedelta(minutes=5))
    print(f"incremental refresh, nothing changed: {1000 * (time.perf_counter() - started):.0f} ms")
    money = Money("USD", {"EUR": Decimal("1.08")})
    since = NOW - timedelta(days=365)
    asks = {  # the last 365 days (whole months here), and a range that starts and ends inside months
        "365 days": Ask(NOW, ReportFilters(start=since.date()), money),
        "mid-month": Ask(
            NOW,
            ReportFilters(start=(since + timedelta(days=9)).date(), end=(NOW - timedelta(days=12)).date()),
            money,
        ),
    }
    reports = dict(REPORTS) | {"attribution": _attribution}
    floor: list[float] = []
    times: dict[tuple[str, str], list[float]] = {(n, r): [] for n in reports for r in asks}
    for _ in range(a.runs):
        with db.read() as s:
            t0 = time.perf_counter()
            s.scalar(
                sa.select(sa.func.count()).select_from(LeadFactRow).where(LeadFactRow.opened_at >= since)
            )
            floor.append(time.perf_counter() - t0)
            for name, fn in reports.items():
                for r, ask in asks.items():
                    t0 = time.perf_counter()
                    fn(s, ask)
                    times[(name, r)].append(time.perf_counter() - t0)
    f95, f50 = pct(floor, 95) * 1000, pct(floor, 50) * 1000
    print(f"floor (indexed count(*) over lead_facts, last 365 days): p50 {f50:.1f} ms, p95 {f95:.1f} ms")
    print(f"{'report':10s} " + "  ".join(f"{r:>42s}" for r in asks))
    for name in reports:
        cells = []
        for r in asks:
            p = pct(times[(name, r)], 95) * 1000
            m = pct(times[(name, r)], 50) * 1000
            cells.append(f"p50 {m:8.1f} ms, p95 {p:8.1f} ms ({p / f95:6.1f}x){'*' if p > 300 else ' '}")
        print(f"{name:10s} " + "  ".join(f"{c:>42s}" for c in cells))
    print("* p95 over 300 ms; (x): p95 over the floor's p95")


if __name__ == "__main__":
    main()
