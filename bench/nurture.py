"""bench/nurture.py: issue 14's speed claims, each beside a floor measured in the same run.

Segments (item 1), on SQLite:
1. Full rebuild of one segment over 1M people (target <= 2 s): the first build (everyone who
   qualifies enters), a rebuild with nothing changed, and one after 1% of the people changed
   country. Floors: the bare `SELECT count(*)` of the same compiled query, and a bare
   `INSERT INTO temp SELECT` of the same ids (what any set-based rebuild must at least do).
2. The event-driven update of one person (target <= 10 ms): `refresh_people` for one person over
   every live segment (here 5, of every kind), p50 and p99 over a few hundred people, inside a
   write transaction as a capture's reaction runs. Floor: the bare per-person queries of the same
   segments.

Other helpers add their claims here (sequences, unsubscribe) as functions beside these.

    python bench/nurture.py [--people 1000000] [--db /tmp/nurture-bench.db] [--keep]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite, median, pct, timer
from leadloop.bootstrap import session_info
from leadloop.scoring.decay import Decaying, decay_rate
from leadloop.segments import handlers as seg
from leadloop.segments.compile import P, members_select
from leadloop.segments.membership import Built, _per_person, refresh_people
from leadloop.segments.model import Definition
from leadloop.segments.parse import parse_definition
from leadloop.segments.repository import live_segments, rate_now
from leadloop.store.db import Database, make_engine

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
RATE = decay_rate(30.0)  # the shipped model's half-life
COUNTRIES = ["DE", "AT", "CH", "FR", "GB", "US", "NL", "SE", "ES", "IT"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Finance", "Health", "Logistics"]
SENIORITY = ["C-Level", "VP", "Director", "Manager", "Individual", None]
TITLES = ["CTO", "VP Sales", "Head of IT", "Data Engineer", "Marketing Manager", "Analyst", None]
TYPES = [
    "page_view",
    "pricing_page_view",
    "content_download",
    "webinar_attended",
    "email_open",
    "form_submit",
]
STAGES = ["inquiry", "mql", "nurture", "recycled", "sal", "won", "lost"]
TS = "%Y-%m-%d %H:%M:%S.%f"

# The segment whose rebuild is timed: firmographics, scores, consent and behaviour in a window.
BENCH_SEGMENT = {
    "match": {
        "all": [
            {"field": "account.country", "op": "in", "value": ["DE", "AT", "CH", "FR", "GB"]},
            {"not": {"field": "consent.email", "op": "is", "value": "opted_out"}},
            {
                "any": [
                    {"field": "fit", "op": ">=", "value": 50},
                    {"did": "pricing_page_view", "at_least": 2, "within_days": 14},
                    {"field": "engagement", "op": ">=", "value": 20},
                ]
            },
        ]
    }
}
# The other live segments a one-person update also decides.
OTHERS = {
    "Pricing twice in 14 days": {"match": {"did": "pricing_page_view", "at_least": 2, "within_days": 14}},
    "Downloads, never a webinar": {
        "match": {"all": [{"did": "content_download"}, {"not": {"did": "webinar_attended"}}]}
    },
    "Recycled leads": {"match": {"lead": {"stage": ["recycled", "nurture"]}}},
    "Senior in software": {
        "match": {
            "all": [
                {"field": "person.seniority", "op": "in", "value": ["C-Level", "VP", "Director"]},
                {"field": "account.industry", "op": "=", "value": "Software"},
            ]
        }
    },
}


def build_world(path: Path, n_people: int, seed: int = 14) -> None:
    """A warehouse of n_people across n_people/10 accounts, ~1.5 activities each over 60 days and a
    lead on a fifth of the accounts, written straight through sqlite3 (the bench times segments,
    not capture)."""
    db = fresh_sqlite(path)
    db.dispose()
    rnd = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    n_accounts = max(1, n_people // 10)
    stamp = "2026-01-01 00:00:00.000000"
    conn.executemany(
        "INSERT INTO accounts (id, name, name_key, country, industry, employees, attributes, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        (
            (
                i,
                f"Acme {i}",
                f"acme {i}",
                rnd.choice(COUNTRIES),
                rnd.choice(INDUSTRIES),
                rnd.randint(1, 5000),
                stamp,
                stamp,
            )
            for i in range(1, n_accounts + 1)
        ),
    )
    t_now = NOW.timestamp()

    def person(i: int) -> tuple[object, ...]:
        s = rnd.choice((0.0, 0.0, 5.0, 15.0, 40.0, 120.0))
        t0 = t_now - rnd.uniform(0, 60 * 86400)
        key = Decaying(s, t0).rank_key(RATE)
        opt = rnd.choice((None, True, True, False))
        return (
            i,
            rnd.randint(1, n_accounts),
            f"p{i}@acme{i % n_accounts}.example",
            rnd.choice(COUNTRIES),
            rnd.choice(TITLES),
            rnd.choice(SENIORITY),
            round(rnd.uniform(0, 100), 1),
            rnd.choice("ABCD"),
            None if opt is None else int(opt),
            s,
            t0,
            key,
            stamp,
            stamp,
        )

    conn.executemany(
        "INSERT INTO people (id, account_id, email, country, title, seniority, fit_score, grade, email_opt_in,"
        " engagement_s, engagement_t0, engagement_key, attributes, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        (person(i) for i in range(1, n_people + 1)),
    )

    def activities() -> Iterator[tuple[object, ...]]:
        n = 0
        for pid in range(1, n_people + 1):
            for _ in range(rnd.choice((0, 1, 1, 2, 3))):
                n += 1
                at = (NOW - timedelta(seconds=rnd.uniform(0, 60 * 86400))).strftime(TS)
                yield (n, f"b{n}", pid, rnd.choice(TYPES), at, stamp)

    conn.executemany(
        "INSERT INTO activities (id, dedupe_key, person_id, type, occurred_at, recorded_at, source, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, 'bench', '{}')",
        activities(),
    )
    conn.execute(
        "INSERT INTO teams (id, name, is_queue, created_at) VALUES (1, 'Marketing nurture', 1, ?)", (stamp,)
    )
    conn.executemany(
        "INSERT INTO leads (account_id, product, stage, owner_team_id, opened_at, stage_changed_at, last_activity_at,"
        " activity_count, contact_count, engagement_s, engagement_t0, engagement_key, buying_roles)"
        " VALUES (?, 'general', ?, 1, ?, ?, ?, 0, 0, 0, 0, -1e300, '[]')",
        ((a, rnd.choice(STAGES), stamp, stamp, stamp) for a in range(1, n_accounts + 1, 5)),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def floor_count(db: Database, definition: Definition) -> float:
    with db.read() as s, timer() as took:
        query = members_select(definition, now=NOW, rate=rate_now(s))
        s.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    return took()


def floor_insert(db: Database, definition: Definition) -> float:
    """The same ids into a temporary table, and nothing else."""
    with db.write() as s:
        conn = s.connection()
        conn.exec_driver_sql("CREATE TEMP TABLE floor_ids (person_id INTEGER PRIMARY KEY)")
        with timer() as took:
            query = members_select(definition, now=NOW, rate=rate_now(s))
            conn.execute(
                sa.insert(sa.table("floor_ids", sa.column("person_id"))).from_select(["person_id"], query)
            )
        conn.exec_driver_sql("DROP TABLE floor_ids")
    return took()


def _drop_segments(db: Database, ids: list[int]) -> None:
    with db.write() as s:
        for table in ("segment_changes", "segment_members"):  # fixed names
            s.execute(
                sa.text(f"DELETE FROM {table} WHERE segment_id IN (SELECT value FROM json_each(:i))"),  # noqa: S608
                {"i": str(ids)},
            )
        s.execute(
            sa.text("DELETE FROM segments WHERE id IN (SELECT value FROM json_each(:i))"), {"i": str(ids)}
        )


def bench_rebuild(db: Database, n_people: int, runs: int = 3) -> int:
    """Each figure is the median of `runs` (the machine is shared: the spread is printed too)."""
    definition = parse_definition(BENCH_SEGMENT)
    counts = [floor_count(db, definition) for _ in range(runs)]
    inserts = [floor_insert(db, definition) for _ in range(runs)]
    firsts: list[Built] = []
    for i in range(runs):  # the first build of the same definition, three times over
        with db.write() as s:
            firsts.append(
                seg.create_segment(
                    s, name=f"Bench: DACH, FR, GB fit or pricing #{i}", definition=definition, now=NOW
                ).built
            )
    segment_id = firsts[0].segment_id
    _drop_segments(db, [b.segment_id for b in firsts[1:]])
    steady: list[Built] = []
    for _ in range(runs):
        with db.write() as s:
            steady.append(seg.rebuild_segment(s, segment_id, now=NOW).built)
    # 1% of the people get another fit behind the segment's back (as a new model would), then a rebuild.
    churn: list[Built] = []
    rnd = random.Random(7)
    for _ in range(runs):
        with db.write() as s:
            ids = rnd.sample(range(1, n_people + 1), max(1, n_people // 100))
            s.execute(
                sa.text(
                    "UPDATE people SET fit_score = 100 - fit_score WHERE id IN (SELECT value FROM json_each(:ids))"
                ),
                {"ids": "[" + ",".join(map(str, ids)) + "]"},
            )
        with db.write() as s:
            churn.append(seg.rebuild_segment(s, segment_id, now=NOW).built)
    floor = statistics.median(inserts)
    print(
        f"segment rebuild over {n_people:,} people on SQLite ({firsts[0].size:,} members; target <= 2 s;"
        f" median of {runs}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"  floor: bare SELECT count(*) of the same query   {_spread(counts)}")
    print(f"  floor: bare INSERT of the same ids into a temp  {_spread(inserts)}")
    for label, built in (
        ("first build", firsts),
        ("rebuild, nothing changed", steady),
        ("rebuild after 1% changed fit", churn),
    ):
        seconds = [b.ms / 1000 for b in built]
        print(
            f"  {label:<28} {_spread(seconds)}  ({statistics.median(seconds) / floor:4.2f}x the insert floor;"
            f" {built[-1].entered:,} in, {built[-1].left:,} out)"
        )
    return int(segment_id)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.3f} s (min {min(values):.3f}, max {max(values):.3f})"


def bench_one_person(db: Database, n_people: int, samples: int = 300) -> None:
    with db.write() as s:
        for name, doc in OTHERS.items():
            seg.create_segment(s, name=name, definition=parse_definition(doc), now=NOW)
    rnd = random.Random(11)
    people = rnd.sample(range(1, n_people + 1), samples)
    with db.read() as s:
        live = live_segments(s)
        rate = rate_now(s)
    # Floors: the person's row by primary key, and the one statement that decides every segment
    # for them (compiled once, as refresh_people runs it), without the difference or the writes.
    union, queries = _per_person(tuple((one.id, one.definition) for one in live))
    values = {k: v for q in queries for k, v in q.params(NOW, rate).items()}
    row_floor: list[float] = []
    decide_floor: list[float] = []
    for pid in people:
        with db.read() as s:
            conn = s.connection()
            with timer() as took:
                conn.execute(sa.select(P).where(P.c.id == pid)).all()
            row_floor.append(took() * 1000)
            with timer() as took:
                conn.execute(union, {**values, "ids": [pid]}).all()
            decide_floor.append(took() * 1000)
    updates: list[float] = []
    moved = 0
    for pid in people:
        with db.write() as s:  # a new fit, as a rescore after an edit writes it
            s.execute(sa.text("UPDATE people SET fit_score = 100 - fit_score WHERE id = :i"), {"i": pid})
            with timer() as took:
                moved += bool(refresh_people(s, [pid], now=NOW))
            updates.append(took() * 1000)
    print(
        f"one person's event-driven update over {len(live)} live segments (target <= 10 ms;"
        f" {moved} of {len(people)} people entered or left one)"
    )
    for label, took_ms in (
        ("the person's row by key", row_floor),
        ("the bare deciding SELECT", decide_floor),
    ):
        _line(f"floor: {label}", took_ms)
    _line("refresh_people (decide, diff, write)", updates)


def _line(label: str, took_ms: list[float]) -> None:
    print(f"  {label:<38} p50 {median(took_ms):6.2f} ms   p99 {pct(took_ms, 99):6.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=Path("/tmp/nurture-bench.db"))
    ap.add_argument("--keep", action="store_true", help="reuse a world already built at --db")
    args = ap.parse_args()
    if not (args.keep and args.db.exists()):
        with timer() as took:
            build_world(args.db, args.people)
        print(f"(built a world of {args.people:,} people in {took():.0f} s)")
    engine = make_engine(f"sqlite:///{args.db}")
    db = Database(engine, info=session_info())
    with db.write() as s:  # a kept world: start from no segments
        for table in ("segment_changes", "segment_members", "segments"):
            s.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        s.execute(sa.text("DELETE FROM timers WHERE kind = 'segment_refresh'"))
    bench_rebuild(db, args.people)
    bench_one_person(db, args.people)
    db.dispose()


if __name__ == "__main__":
    main()
