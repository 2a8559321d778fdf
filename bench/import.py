"""bench/import.py: N generated people rows imported with full normalisation and identity, or
(`--entity activities`) N activity rows about people already imported (matched by e-mail,
scored), on SQLite or (`--database-url`) PostgreSQL.

Floor, measured in the same run: the same CSV read with the csv module and written with raw
sqlite3.executemany into a plain table (one transaction). Targets: 1M people rows in <= 60 s,
1M activity rows in <= 30 s on SQLite. Peak memory: the process's resident size during the
import, sampled every 20 ms, above what it held before (an import must stream).

    python bench/import.py [--rows 1000000] [--entity people|activities] [--database-url URL]
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import random
import resource
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite, median, timer
from leadloop.bootstrap import session_info
from leadloop.capture.importer import run_import
from leadloop.core.clock import utcnow
from leadloop.demo.world import make_people_rows
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade

PEOPLE_HEADER = [
    "external_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "country",
    "phone",
    "city",
    "lead_source",
]
ACTIVITY_TYPES = [
    "page_view",
    "email_open",
    "email_click",
    "webinar_attended",
    "content_download",
    "pricing_page_view",
]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def peak_rss() -> Iterator[Callable[[], float]]:
    """The highest resident size while the block runs, above the size before it (MB)."""
    base = _rss_mb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield lambda: peak[0] - base
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], _rss_mb())


def fresh_db(work: Path, url: str | None) -> Database:
    if url is None:
        return fresh_sqlite(work / "leadloop.db")
    from speed_to_lead import _fresh_pg

    _fresh_pg(url)
    engine = make_engine(url)
    upgrade(engine)
    return Database(engine, info=session_info())


def write_people(path: Path, n: int) -> list[str]:
    """n generated people rows as a CSV; returns their e-mails."""
    rows = make_people_rows(n, seed=42)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PEOPLE_HEADER)
        w.writerows([r.get(h, "") for h in PEOPLE_HEADER] for r in rows)
    return [str(r["email"]) for r in rows if r.get("email")]


def write_activities(path: Path, n: int, emails: list[str]) -> None:
    """n activity rows about these people over the last year, written as they are made."""
    rng = random.Random(7)
    start = utcnow() - timedelta(days=365)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["email", "type", "occurred_at", "product", "url"])
        for i in range(n):
            at = start + timedelta(seconds=rng.randrange(364 * 86_400))
            w.writerow(
                [
                    rng.choice(emails),
                    rng.choice(ACTIVITY_TYPES),
                    at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    rng.choice(("analytics", "platform", "")),
                    f"https://example.com/p/{i % 500}",
                ]
            )


def raw_floor(csv_path: Path, db_path: Path) -> float:
    db_path.unlink(missing_ok=True)
    with timer() as elapsed:
        conn = sqlite3.connect(db_path)
        conn.execute("PRAGMA journal_mode=WAL")
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            conn.execute(f"CREATE TABLE raw_rows ({', '.join(h + ' TEXT' for h in header)})")
            conn.executemany(f"INSERT INTO raw_rows VALUES ({', '.join('?' * len(header))})", reader)  # noqa: S608 - header names only
        conn.commit()
        conn.close()
    return elapsed()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--entity", choices=["people", "activities"], default="people")
    ap.add_argument(
        "--people", type=int, default=20_000, help="people imported first for --entity activities"
    )
    ap.add_argument("--database-url", help="a PostgreSQL URL (its database is dropped and made anew)")
    ap.add_argument("--floor-runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-bench-"))
    csv_path = work / f"{args.entity}.csv"
    people_path = work / "people.csv"
    with timer() as gen:
        if args.entity == "people":
            write_people(csv_path, args.rows)
        else:
            emails = write_people(people_path, args.people)
            write_activities(csv_path, args.rows, emails)
            del emails
    print(
        f"generated {args.rows:,} {args.entity} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in {gen():.1f} s"
    )

    floors = [raw_floor(csv_path, work / "raw.db") for _ in range(args.floor_runs)]
    floor = median(floors)
    print(
        f"floor  raw sqlite3.executemany: median {floor:.2f} s of {args.floor_runs} ({args.rows / floor:,.0f} rows/s)"
    )

    db = fresh_db(work, args.database_url)
    where = "PostgreSQL" if args.database_url else "SQLite"
    if args.entity == "activities":
        with timer() as took:
            run_import(db, "people", people_path, now=utcnow)
        print(f"(imported {args.people:,} people first in {took():.1f} s)")
    url = db.engine.url.render_as_string(hide_password=False)
    db.dispose()
    # The import runs in a fresh process: this one's heap still holds the generated rows, which
    # the import would reuse, and its peak would read too low.
    results: multiprocessing.Queue[tuple[float, int, int, float, float]] = multiprocessing.get_context(
        "spawn"
    ).Queue()
    child = multiprocessing.get_context("spawn").Process(
        target=measured_import, args=(url, args.entity, str(csv_path), results)
    )
    child.start()
    secs, created, rejected, peak, maxrss = results.get()
    child.join()
    print(
        f"leadloop import {args.entity} on {where}: {secs:.1f} s ({args.rows / secs:,.0f} rows/s): "
        f"{created:,} created, {rejected:,} rejected; peak memory +{peak:.0f} MB during the import "
        f"({maxrss:.0f} MB resident at most, the process's own)"
    )
    if args.database_url:
        print(f"ratio to the SQLite floor: {secs / floor:.1f}x (the targets are for SQLite)")
        return
    target = 60 if args.entity == "people" else 30
    print(
        f"ratio to floor: {secs / floor:.1f}x   target <= {target} s for 1M rows: "
        f"{'met' if secs * 1_000_000 / args.rows <= target else 'NOT met'}"
    )


def measured_import(url: str, entity: str, csv_path: str, results: Any) -> None:
    """In a child process: the import, its time and its peak memory, put on `results`."""
    db = Database(make_engine(url), info=session_info())
    with peak_rss() as peak, timer() as took:
        report = run_import(db, entity, Path(csv_path), now=utcnow)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((took(), report.created, report.rejected, peak(), maxrss))
    db.dispose()


if __name__ == "__main__":
    main()
