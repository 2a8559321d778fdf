"""bench/dedupe.py: pairwise precision, recall and F1, and time, of `leadloop dedupe` on labelled
duplicates (typos, swapped names, nicknames, missing fields, old e-mails, free mail versus work
mail, other phone and postcode spellings), beside Splink on DuckDB on the same rows in the same run.

Targets: precision >= 0.98 and recall >= 0.95; 1M records in <= 120 s.

    python bench/dedupe.py [--sizes 10000,100000,1000000] [--skip-splink]

Splink is optional (pip install splink); both get the same rows. Splink gets lower-cased names,
digits-only phones and the usual blocking rules, trained with its own u sampling and EM.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from leadloop.demo.dupes import people_with_duplicates
from leadloop.identity.match import dedupe
from leadloop.identity.records import map_columns, record


def pairs(labels: list[str] | np.ndarray) -> set[tuple[int, int]]:
    groups: dict[object, list[int]] = defaultdict(list)
    for k, label in enumerate(labels):
        groups[label].append(k)
    out: set[tuple[int, int]] = set()
    for members in groups.values():
        if len(members) > 1:
            out.update(combinations(members, 2))
    return out


def score(truth: set[tuple[int, int]], found: set[tuple[int, int]]) -> tuple[float, float, float]:
    tp = len(truth & found)
    p = tp / len(found) if found else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def ours(rows: list[dict[str, str]]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    cols = map_columns(list(rows[0]))
    result = dedupe([record(r, cols) for r in rows])
    return result.cluster, time.perf_counter() - start


def splink(rows: list[dict[str, str]], work: Path) -> tuple[np.ndarray, float]:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # type: ignore[attr-defined]

    path = work / "splink.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["unique_id", "first_name", "surname", "email", "phone", "postcode", "dob", "city"])
        for k, r in enumerate(rows):
            digits = "".join(c for c in r["phone"] if c.isdigit())[-10:]
            w.writerow(
                [
                    k,
                    r["first_name"].lower() or None,
                    r["last_name"].lower() or None,
                    r["email"].lower() or None,
                    digits or None,
                    r["postcode"].replace(" ", "").upper() or None,
                    r["dob"] or None,
                    r["city"].lower(),
                ]
            )
    start = time.perf_counter()
    con = duckdb.connect()
    table = con.read_csv(str(path), all_varchar=True)
    comparisons = [
        cl.NameComparison("first_name"),
        cl.NameComparison("surname"),
        cl.EmailComparison("email"),
        cl.ExactMatch("phone"),
        cl.LevenshteinAtThresholds("dob", [1, 2]),
        cl.ExactMatch("postcode"),
    ]
    rules = [
        block_on("email"),
        block_on("phone"),
        block_on("surname", "postcode"),
        block_on("first_name", "surname"),
        block_on("surname", "dob"),
        block_on("first_name", "dob"),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only", comparisons=comparisons, blocking_rules_to_generate_predictions=rules
    )
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register(table), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for rule in (block_on("first_name", "surname"), block_on("dob"), block_on("email")):
        try:  # Splink refuses a session whose levels it cannot observe; the others still train it
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as exc:
            print(f"          (Splink EM on {rule!r} skipped: {str(exc)[:80]})")
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.9
    )
    got = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    elapsed = time.perf_counter() - start
    labels = np.empty(len(rows), dtype=object)
    for uid, cid in got:
        labels[int(uid)] = cid
    return labels, elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--skip-splink", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-dedupe-"))
    for n in (int(x) for x in args.sizes.split(",")):
        rows = list(people_with_duplicates(n, seed=2026))
        truth = pairs([r["entity"] for r in rows])
        labels, secs = ours(rows)
        p, r, f = score(truth, pairs(labels))
        print(
            f"{n:>9,} records, {len(truth):,} true pairs | leadloop: P {p:.4f} R {r:.4f} F1 {f:.4f} in {secs:6.1f} s"
            + (f"  (1M target <= 120 s: {'met' if secs <= 120 else 'NOT met'})" if n >= 1_000_000 else ""),
            flush=True,
        )
        if not args.skip_splink:
            try:
                slabels, ssecs = splink(rows, work)
            except ImportError:
                print("          Splink is not installed (pip install splink); skipped")
                continue
            sp, sr, sf = score(truth, pairs(slabels))
            print(
                f"{'':>9}  {'':>{len(f'{len(truth):,}') + 12}} | Splink:   P {sp:.4f} R {sr:.4f} F1 {sf:.4f} in {ssecs:6.1f} s "
                f"(time ratio leadloop/Splink {secs / ssecs:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
