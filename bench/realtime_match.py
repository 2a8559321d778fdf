"""bench/realtime_match.py: real-time match latency with N people stored (default 1M, SQLite).

Each probe is what a capture of a new person does for identity: store its blocking keys, find the
people sharing a key, load and compare them, and score the pairs (identity/realtime.find_matches),
one person per transaction. Target: p95 <= 20 ms at 1M stored people.

Floor, measured in the same run on the same database: one indexed lookup of a person by e-mail
(what capture did before fuzzy matching) per transaction.

The warehouse is filled directly (people rows and their keys through executemany), not through
capture, so that building 1M people takes a minute, not an hour.

    python bench/realtime_match.py [--people 1000000] [--probes 1000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

from _common import fresh_sqlite, median, pct
from leadloop.demo.dupes import people_with_duplicates
from leadloop.identity.match import blocking_keys
from leadloop.identity.policy import DEFAULT
from leadloop.identity.realtime import find_matches, person_rec
from leadloop.store.tables import Person

FIELDS = ("first_name", "last_name", "email", "phone", "postcode", "company", "city")


class Row:
    __slots__ = ("id", *FIELDS)

    def __init__(self, pid: int, data: dict[str, str]) -> None:
        self.id = pid
        for f in FIELDS:
            setattr(self, f, data.get(f) or None)


def fill(db: object, n: int) -> list[dict[str, str]]:
    """n people and their keys; returns the rows held back as probes (new people to capture)."""
    rows = list(people_with_duplicates(n + 1000, seed=11))
    stored, probes = rows[:n], rows[n:]
    now = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None).isoformat(" ")
    raw = db.engine.raw_connection()  # type: ignore[attr-defined]
    cur = raw.cursor()
    seen: set[str] = set()
    people, keys = [], []
    for pid, r in enumerate(stored, start=1):
        email = r["email"] or None
        if email in seen:
            email = None
        elif email:
            seen.add(email)
        people.append(
            (
                pid,
                email,
                r["first_name"],
                r["last_name"],
                r["phone"] or None,
                r["postcode"],
                r["company"],
                r["city"],
                now,
                now,
            )
        )
        for k in dict.fromkeys(blocking_keys(person_rec(Row(pid, r), DEFAULT))):
            keys.append((k, pid))
    cur.execute("BEGIN")  # the connection runs in autocommit: one transaction, not a million
    cur.executemany(
        "INSERT INTO people (id, email, first_name, last_name, phone, postcode, company, city, created_at, updated_at,"
        " attributes, engagement_s, engagement_t0, engagement_key) VALUES (?,?,?,?,?,?,?,?,?,?,'{}',0,0,-1e300)",
        people,
    )
    cur.executemany("INSERT OR IGNORE INTO person_keys (key, person_id) VALUES (?, ?)", keys)
    raw.commit()
    cur.execute("ANALYZE")
    raw.close()
    return probes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--probes", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_sqlite(Path(tmp) / "match.db")
        t0 = time.perf_counter()
        probes = fill(db, args.people)[: args.probes]
        print(f"stored {args.people:,} people and their keys in {time.perf_counter() - t0:.0f} s")
        next_id = args.people + 1
        match_ms, floor_ms, found = [], [], 0
        for k, r in enumerate(probes):
            pid = next_id + k
            with db.write() as s:
                s.execute(
                    sa.insert(Person).values(
                        id=pid,
                        first_name=r["first_name"],
                        last_name=r["last_name"],
                        phone=r["phone"] or None,
                        postcode=r["postcode"],
                        company=r["company"],
                        city=r["city"],
                        attributes={},
                        created_at=datetime.now(UTC),
                        updated_at=datetime.now(UTC),
                    )
                )
                start = time.perf_counter()
                found += bool(find_matches(s, [Row(pid, r)], DEFAULT))
                match_ms.append((time.perf_counter() - start) * 1000)
            email = r["email"] or "nobody@example.com"
            with db.write() as s:
                start = time.perf_counter()
                s.execute(sa.select(Person.id).where(Person.email == email)).first()
                floor_ms.append((time.perf_counter() - start) * 1000)
        print(f"{len(probes):,} new people matched against {args.people:,} ({found:,} found a candidate)")
        print(
            f"real-time match: p50 {median(match_ms):.2f} ms, p95 {pct(match_ms, 95):.2f} ms (target p95 <= 20 ms)"
        )
        print(
            f"floor (e-mail lookup): p50 {median(floor_ms):.3f} ms, p95 {pct(floor_ms, 95):.3f} ms"
            f" -> match p95 is {pct(match_ms, 95) / max(pct(floor_ms, 95), 1e-9):.0f}x the floor"
        )
        db.dispose()


if __name__ == "__main__":
    main()
