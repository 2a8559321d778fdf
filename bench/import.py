"""bench/import.py: N generated people rows imported with full normalisation and identity.

Floor, measured in the same run: the same CSV read with the csv module and written with raw
sqlite3.executemany into a plain table (one transaction). Target: 1M rows in <= 60 s.

    python bench/import.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite, median, timer
from leadloop.capture.importer import run_import
from leadloop.core.clock import utcnow
from leadloop.demo.world import make_people_rows


def raw_floor(csv_path: Path, db_path: Path) -> float:
    db_path.unlink(missing_ok=True)
    with timer() as elapsed:
        conn = sqlite3.connect(db_path)
        conn.execute("PRAGMA journal_mode=WAL")
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            conn.execute(f"CREATE TABLE people ({', '.join(h + ' TEXT' for h in header)})")
            conn.executemany(f"INSERT INTO people VALUES ({', '.join('?' * len(header))})", reader)  # noqa: S608 - header names only
        conn.commit()
        conn.close()
    return elapsed()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--floor-runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-bench-"))
    csv_path = work / "people.csv"
    with timer() as gen:
        rows = make_people_rows(args.rows, seed=42)
        header = [
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
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows([r.get(h, "") for h in header] for r in rows)
        del rows
    print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in {gen():.1f} s")

    floors = [raw_floor(csv_path, work / "raw.db") for _ in range(args.floor_runs)]
    floor = median(floors)
    print(
        f"floor  raw sqlite3.executemany: median {floor:.2f} s of {args.floor_runs} ({args.rows / floor:,.0f} rows/s)"
    )

    db = fresh_sqlite(work / "leadloop.db")
    with timer() as took:
        report = run_import(db, "people", csv_path, now=utcnow)
    secs = took()
    print(
        f"leadloop import people: {secs:.1f} s ({args.rows / secs:,.0f} rows/s): "
        f"{report.created:,} created, {report.rejected:,} rejected"
    )
    print(
        f"ratio to floor: {secs / floor:.1f}x   target <= 60 s for 1M rows: {'met' if secs * 1_000_000 / args.rows <= 60 else 'NOT met'}"
    )
    db.dispose()


if __name__ == "__main__":
    main()
