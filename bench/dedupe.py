"""bench/dedupe.py: pairwise precision, recall and F1, and time, of `leadloop dedupe` on labelled
duplicates (typos, swapped names, nicknames, missing fields, old e-mails, free mail versus work
mail, other phone and postcode spellings), beside Splink on DuckDB on the same rows in the same run.

Targets: precision >= 0.98 and recall >= 0.95; 1M records in <= 120 s. On public labelled files:
F1 at least Splink's on the same rows, at precision >= 0.98, in no more time.

    python bench/dedupe.py [--sizes 10000,100000,1000000] [--skip-splink]     # the simulator
    python bench/dedupe.py --file people.csv --truth pairs.csv --id-column id [--map 'Col=field']
    python bench/dedupe.py --public [--only FEBRL]   # the public files of bench/dedupe_data.py
    python bench/dedupe.py --sizes 100000 --skip-splink --errors 20   # a sample of false merges and
                                                                      # missed pairs, levels and weights

A truth file is a CSV whose first two columns are the ids of a true pair (a header row first).
In file mode Splink gets the same normalised values of the same columns, one comparison per
column by its kind (names with term-frequency adjustment, dates, numbers, text), blocking on the
usual pairs of columns, u by random sampling and EM, clusters at 0.9 as for the simulator.

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

from leadloop.contract.csvio import read_plain
from leadloop.demo.dupes import people_with_duplicates
from leadloop.identity.blocking import RULES, pair_completeness
from leadloop.identity.columns import check_values, parse_maps, plan_columns
from leadloop.identity.compare import Columns, compare
from leadloop.identity.match import Result, dedupe
from leadloop.identity.model import tf_adjustment
from leadloop.identity.records import Rec, map_columns, record


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


def ours(rows: list[dict[str, str]]) -> tuple[list[Rec], Result, float]:
    start = time.perf_counter()
    cols = map_columns(list(rows[0]))
    recs = [record(r, cols) for r in rows]
    result = dedupe(recs)
    return recs, result, time.perf_counter() - start


def show_errors(
    recs: list[Rec], truth: set[tuple[int, int]], result: Result, count: int, *, seed: int = 1
) -> None:
    """A sample of the false merges (links at or above the threshold between records of different
    people) and of the missed pairs (true pairs left in different clusters), each with both
    records' match keys and, when the pair was compared, its level and weight per field."""
    if count <= 0:
        return
    cols = Columns.of(recs)
    i, j, p = result.left, result.right, result.probability
    linked = p >= result.threshold
    index = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(i.tolist(), j.tolist(), strict=True))}
    fp = [k for k in np.flatnonzero(linked).tolist() if (int(i[k]), int(j[k])) not in truth]
    cluster = result.cluster
    fn = sorted(t for t in truth if cluster[t[0]] != cluster[t[1]])
    rng = np.random.default_rng(seed)
    attrs = ("first", "last", "middle", "email", "phone", "dob", "postcode", "city", "address", "company")

    def describe(a: int, b: int) -> None:
        for x in (a, b):
            r = recs[x]
            print("      " + " | ".join(f"{f}={getattr(r, f)}" for f in attrs if getattr(r, f)))
        k = index.get((a, b))
        if k is None:
            print("      not compared (no shared blocking key within its cap)")
            return
        one = np.array([a]), np.array([b])
        levels = compare(cols, *one)
        w = result.model.weights(levels)
        tf = tf_adjustment(result.model, levels, cols.codes, *one)
        parts = []
        for f, lv in levels.items():
            level = int(lv[0])
            bits = np.log2(result.model.m[f][level] / result.model.u[f][level]) if level >= 0 else 0.0
            parts.append(f"{f}={level}({bits:+.1f})")
        print(f"      p={p[k]:.4f} weight={w[0] + tf[0]:+.1f} (tf {tf[0]:+.1f}): " + " ".join(parts))

    for label, items in (("false merges", fp), ("missed pairs", fn)):
        print(f"  {label}: {len(items):,}; a sample of {min(count, len(items))}:")
        for pick in rng.permutation(len(items))[:count].tolist():
            item = items[pick]
            a, b = (int(i[item]), int(j[item])) if isinstance(item, int) else item
            print(f"    #{a} #{b}")
            describe(a, b)


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


# Splink's comparison for each of our normalised record attributes, by its kind.
def _splink_comparisons(attrs: list[str]) -> tuple[list[object], list[object]]:
    import splink.comparison_library as cl
    from splink import block_on  # type: ignore[attr-defined]

    comps: list[object] = []
    for a in attrs:
        if a in ("first", "last", "middle", "birth"):
            comps.append(cl.NameComparison(a).configure(term_frequency_adjustments=True))
        elif a == "email":
            comps.append(cl.EmailComparison(a))
        elif a == "dob":
            comps.append(cl.DateOfBirthComparison(a, input_is_string=True))
        elif a in ("phone", "street_number", "postcode") or a.startswith("id"):
            comps.append(cl.DamerauLevenshteinAtThresholds(a, [1, 2]))
        elif a in ("address", "address2", "company"):
            comps.append(cl.JaroWinklerAtThresholds(a, [0.9, 0.7]))
        else:
            comps.append(cl.ExactMatch(a).configure(term_frequency_adjustments=True))
    wanted = [
        ("first", "last"),
        ("last", "dob"),
        ("first", "dob"),
        ("dob", "postcode"),
        ("postcode", "street_number"),
        ("last", "postcode"),
        ("email",),
        ("phone",),
        *((a,) for a in attrs if a.startswith("id")),
        ("first", "city"),
    ]
    rules = [block_on(*cols) for cols in wanted if all(c in attrs for c in cols)]
    return comps, rules


def _attrs(recs: list[Rec]) -> dict[str, list[str | None]]:
    names = ("first", "last", "middle", "birth", "email", "phone", "dob", "postcode", "street_number")
    names += ("address", "address2", "company", "city", "state")
    out: dict[str, list[str | None]] = {a: [getattr(r, a) for r in recs] for a in names}
    for k in range(max((len(r.ids) for r in recs), default=0)):
        out[f"id{k}"] = [r.ids[k] for r in recs]
    for k in range(max((len(r.texts) for r in recs), default=0)):
        out[f"text{k}"] = [r.texts[k] for r in recs]
    return {a: v for a, v in out.items() if any(v)}


def splink_file(recs: list[Rec], work: Path) -> tuple[np.ndarray, float]:
    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on  # type: ignore[attr-defined]

    cols = _attrs(recs)
    path = work / "splink_file.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["unique_id", *cols])
        for k in range(len(recs)):
            w.writerow([k, *(cols[a][k] or None for a in cols)])
    start = time.perf_counter()
    con = duckdb.connect()
    table = con.read_csv(str(path), all_varchar=True)
    comps, rules = _splink_comparisons(list(cols))
    settings = SettingsCreator(
        link_type="dedupe_only", comparisons=comps, blocking_rules_to_generate_predictions=rules
    )
    linker = Linker(DuckDBAPI(con).register(table), settings, log_level=logging.WARNING)
    deterministic = [
        r for c, r in ((("first", "last", "dob"), None), (("email",), None)) if all(a in cols for a in c)
    ]
    det = [
        block_on(*c)
        for c in (("first", "last", "dob"), ("email",), ("first", "last"))
        if all(a in cols for a in c)
    ]
    del deterministic
    linker.training.estimate_probability_two_random_records_match(det[:2], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    for cols_ in (("first", "last"), ("dob",), ("postcode",), ("email",)):
        if not all(a in cols for a in cols_):
            continue
        try:  # Splink refuses a session whose levels it cannot observe; the others still train it
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols_))
        except Exception as exc:
            print(f"          (Splink EM on {cols_} skipped: {str(exc)[:80]})")
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.9
    )
    got = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    elapsed = time.perf_counter() - start
    labels = np.empty(len(recs), dtype=object)
    for uid, cid in got:
        labels[int(uid)] = cid
    return labels, elapsed


def run_file(
    name: str,
    file: Path,
    truth_file: Path,
    id_column: str,
    maps: list[str],
    work: Path,
    *,
    skip_splink: bool,
    errors: int = 0,
) -> None:
    start = time.perf_counter()
    headers, data = read_plain(file)
    rows = [row for _, row in data]
    plan = check_values(plan_columns(headers, parse_maps(maps), row_id=id_column), rows)
    recs = [record(r, plan) for r in rows]
    result = dedupe(recs)
    secs = time.perf_counter() - start
    pos = {r[id_column]: k for k, r in enumerate(rows)}
    with truth_file.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        truth = {(min(pos[a], pos[b]), max(pos[a], pos[b])) for a, b, *_ in reader}
    p, r, f = score(truth, pairs(result.cluster))
    print(f"{name}: {len(rows):,} rows, {len(truth):,} true pairs", flush=True)
    show_errors(recs, truth, result, errors)
    print("  columns:\n" + "\n".join("  " + line for line in plan.report()))
    pc = pair_completeness(recs, sorted(truth))
    print(
        f"  leadloop: P {p:.4f} R {r:.4f} F1 {f:.4f} in {secs:6.1f} s  (threshold {result.threshold:.2f}; "
        f"expected P {result.expected_precision:.3f} R {result.expected_recall:.3f}; pair completeness {pc['all']:.4f})",
        flush=True,
    )
    print(
        "  pair completeness by rule: " + ", ".join(f"{k} {v:.3f}" for k, v in pc.items() if k in RULES and v)
    )
    if skip_splink:
        return
    try:
        slabels, ssecs = splink_file(recs, work)
    except ImportError:
        print("  Splink is not installed (pip install splink); skipped")
        return
    sp, sr, sf = score(truth, pairs(slabels))
    print(
        f"  Splink:   P {sp:.4f} R {sr:.4f} F1 {sf:.4f} in {ssecs:6.1f} s  (time ratio leadloop/Splink {secs / ssecs:.2f}; "
        f"F1 {'≥' if f >= sf else '<'} Splink's; P {'≥' if p >= 0.98 else '<'} 0.98)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--skip-splink", action="store_true")
    ap.add_argument("--file", type=Path, help="a labelled CSV of people")
    ap.add_argument("--truth", type=Path, help="its true pairs: a CSV whose first two columns are ids")
    ap.add_argument("--id-column", default="id")
    ap.add_argument("--map", action="append", default=[], help="Column=field, as for leadloop dedupe")
    ap.add_argument("--public", action="store_true", help="run the public files of bench/dedupe_data.py")
    ap.add_argument(
        "--errors",
        type=int,
        default=0,
        metavar="N",
        help="print a sample of N false merges and N missed pairs: both records, levels and weights",
    )
    ap.add_argument("--only", default="", help="with --public: only files whose name contains this")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadloop-dedupe-"))
    if args.file or args.public:
        if args.file:
            if not args.truth:
                ap.error("--file needs --truth PAIRS")
            run_file(
                args.file.name,
                args.file,
                args.truth,
                args.id_column,
                args.map,
                work,
                skip_splink=args.skip_splink,
                errors=args.errors,
            )
            return
        from dedupe_data import public_files  # type: ignore[import-not-found]

        for pub in public_files(work):
            if args.only.casefold() in pub.name.casefold():
                run_file(
                    f"{pub.name} ({pub.what})",
                    pub.file,
                    pub.truth,
                    pub.id_column,
                    list(pub.maps),
                    work,
                    skip_splink=args.skip_splink,
                    errors=args.errors,
                )
        return
    for n in (int(x) for x in args.sizes.split(",")):
        rows = list(people_with_duplicates(n, seed=2026))
        truth = pairs([r["entity"] for r in rows])
        recs, result, secs = ours(rows)
        labels = result.cluster
        p, r, f = score(truth, pairs(labels))
        print(
            f"{n:>9,} records, {len(truth):,} true pairs | leadloop: P {p:.4f} R {r:.4f} F1 {f:.4f} in {secs:6.1f} s"
            + (f"  (1M target <= 120 s: {'met' if secs <= 120 else 'NOT met'})" if n >= 1_000_000 else ""),
            flush=True,
        )
        show_errors(recs, truth, result, args.errors)
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
