"""Match keys and the matcher on small sets whose truth is plain: nicknames, swapped names, typos,
other scripts, Gmail dots and plus tags (configurable), files without an e-mail column, and values
too thin to be a key."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.demo.dupes import people_with_duplicates
from leadloop.identity import normal as n
from leadloop.identity.match import blocking_keys, dedupe
from leadloop.identity.records import map_columns, record


def test_keys() -> None:
    assert n.email_key("John.Smith+news@GoogleMail.com") == "johnsmith@gmail.com"
    assert (
        n.email_key("john.smith+news@gmail.com", gmail_dots=False, plus_tags=False)
        == "john.smith+news@gmail.com"
    )
    assert n.email_key("j.smith+x@acme.com") == "j.smith@acme.com"  # dots only matter at Gmail
    assert n.first_name_key("Bob") == n.first_name_key("ROBERT") == "robert"
    assert (
        n.name_key("Иванов") == "ivanov"
        and n.name_key("Müller") == "muller"
        and n.name_key("王小明") == "wangxiaoming"
    )
    assert n.phone_key("+44 20 7946 0000") == n.phone_key("020 7946 0000") == "2079460000"
    assert n.date_key("12/03/1985") == "1985-03-12" and n.date_key("1985-03-12") == "1985-03-12"
    assert n.address_key("12 High Street") == n.address_key("12 high st.")
    # Too thin to tell people apart: never a key.
    assert n.name_key("") is None and n.name_key("J") is None and n.company_key("X") is None
    assert n.address_key("   ") is None and n.phone_key("123") is None and n.email_key("not-an-email") is None
    empty = record(
        {"first_name": " ", "last_name": "", "company": "Q"},
        {"first_name": "first_name", "last_name": "last_name", "company": "company"},
    )
    assert blocking_keys(empty) == []


COLS = ["id", "first_name", "last_name", "email", "phone", "postcode", "dob", "company"]


def _run(rows: list[list[str]], headers: list[str] = COLS) -> dict[str, int]:
    dicts = [dict(zip(headers, r, strict=True)) for r in rows]
    cols = map_columns(headers)
    result = dedupe([record(d, cols) for d in dicts], train=False)
    return {d["id"]: int(c) for d, c in zip(dicts, result.cluster, strict=True)}


def test_the_same_person_under_other_spellings() -> None:
    c = _run(
        [
            [
                "a",
                "Robert",
                "Smith",
                "robert.smith@acme.com",
                "+1 415 555 0101",
                "94105",
                "1980-04-02",
                "Acme Inc.",
            ],
            ["b", "Bob", "Smith", "", "(415) 555-0101", "94105", "", "ACME"],  # nickname, no e-mail
            [
                "c",
                "Smith",
                "Robert",
                "r.smith@gmail.com",
                "",
                "94105",
                "1980-04-02",
                "",
            ],  # swapped names, free mail
            [
                "d",
                "Roberta",
                "Smith",
                "roberta@other.com",
                "+1 212 555 0199",
                "10001",
                "1992-11-20",
                "Other LLC",
            ],
            ["e", "Robert", "Smyth", "robert.smith@acme.com", "", "", "", ""],  # typo, same e-mail
        ]
    )
    assert c["a"] == c["b"] == c["c"] == c["e"] and c["d"] != c["a"]


def test_files_without_an_email_column_match_on_name_address_postcode_and_birth_date() -> None:
    headers = ["id", "name", "address", "postcode", "dob", "phone"]
    c = _run(
        [
            ["1", "Anna Kowalski", "12 High Street", "EC1A 1BB", "1975-06-30", ""],
            ["2", "Ana Kowalski", "12 High St", "EC1A1BB", "30/06/1975", ""],
            ["3", "Anna Kowalski", "99 Station Road", "M1 1AE", "1988-01-15", ""],  # a namesake elsewhere
            ["4", "Иван Петров", "5 Park Avenue", "10001", "1966-02-02", "+1 212 555 0100"],
            [
                "5",
                "Ivan Petrov",
                "5 Park Ave",
                "10001",
                "1966-02-02",
                "212-555-0100",
            ],  # the same man, in Latin script
        ],
        headers,
    )
    assert c["1"] == c["2"] and c["3"] != c["1"] and c["4"] == c["5"]


def test_precision_and_recall_on_labelled_duplicates() -> None:
    rows = list(people_with_duplicates(3000, seed=11))
    cols = map_columns(list(rows[0]))
    result = dedupe([record(r, cols) for r in rows])
    truth, found = set(), set()
    by_entity, by_cluster = defaultdict(list), defaultdict(list)
    for k, r in enumerate(rows):
        by_entity[r["entity"]].append(k)
        by_cluster[int(result.cluster[k])].append(k)
    for group in by_entity.values():
        truth.update(combinations(group, 2))
    for group in by_cluster.values():
        found.update(combinations(group, 2))
    precision = len(truth & found) / len(found)
    recall = len(truth & found) / len(truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)


@given(
    st.one_of(
        st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=300),  # sparse: by a sort
        st.lists(st.integers(min_value=-50, max_value=500), max_size=300),  # dense: by a table
    )
)
def test_distinct_is_unique_by_one_sort(values: list[int]) -> None:
    import numpy as np

    from leadloop.core.arrays import distinct

    x = np.array(values, dtype=np.int64)
    uniq, inverse, counts = distinct(x)
    want, want_inverse, want_counts = np.unique(x, return_inverse=True, return_counts=True)
    assert uniq.tolist() == want.tolist() and counts.tolist() == want_counts.tolist()
    assert inverse.tolist() == want_inverse.reshape(-1).tolist() and uniq[inverse].tolist() == values


@given(
    st.lists(st.tuples(st.integers(-1, 4), st.integers(-1, 2), st.integers(-1, 1)), min_size=1, max_size=200)
)
def test_patterns_give_each_pair_its_levels_and_the_same_probabilities(
    rows: list[tuple[int, int, int]],
) -> None:
    import numpy as np

    from leadloop.identity.match import Model, Patterns

    levels = {
        f: np.array([r[k] for r in rows], dtype=np.int64) for k, f in enumerate(("first", "email", "phone"))
    }
    pat = Patterns.of(levels)
    assert int(pat.counts.sum()) == len(rows) and len(pat.counts) == len(set(rows))
    for f, lv in levels.items():
        assert pat.levels[f][pat.inverse].tolist() == lv.tolist()
    model = Model()
    direct = 1 / (1 + 2.0 ** -model.weights(levels))
    assert np.allclose(model.probabilities(levels), direct)


@pytest.mark.slow  # seconds: `make test` runs it, `make test-fast` stays fast
def test_em_on_patterns_fits_what_em_on_every_pair_fits() -> None:
    """The fit weighs each pattern by its pairs: the same m, u and prior as one row per pair."""
    import numpy as np

    from leadloop.identity.match import Columns, Model, Patterns, candidate_pairs, compare

    cols = map_columns(list(next(iter(people_with_duplicates(1, seed=3)))))
    recs = [record(r, cols) for r in people_with_duplicates(20000, seed=3)]
    i, j = candidate_pairs(recs)
    levels = compare(Columns.of(recs), i, j)
    fitted = Model()._em(Patterns.of(levels), iterations=10, fix_u=False, hold=())
    m, u, prior = (
        {f: v.copy() for f, v in Model().m.items()},
        {f: v.copy() for f, v in Model().u.items()},
        0.01,
    )
    for _ in range(10):  # the textbook EM, pair by pair
        p = 1 / (1 + 2.0 ** -Model(m, u, prior).weights(levels))
        prior = min(max(float(p.mean()), 1e-6), 0.95)
        for f, lv in levels.items():
            ok = lv >= 0
            pm = np.bincount(lv[ok], weights=p[ok], minlength=len(m[f])) + 1e-3
            pu = np.bincount(lv[ok], weights=1 - p[ok], minlength=len(m[f])) + 1e-3
            m[f], u[f] = np.clip(pm / pm.sum(), 1e-4, 1 - 1e-4), np.clip(pu / pu.sum(), 1e-4, 1 - 1e-4)
    assert abs(fitted.prior - prior) < 1e-9
    for f in levels:
        assert np.allclose(fitted.m[f], m[f]) and np.allclose(fitted.u[f], u[f])


@pytest.mark.slow  # seconds: `make test` runs it, `make test-fast` stays fast
def test_em_never_learns_that_one_citys_people_are_one_person() -> None:
    """On the demo world (few cities, one postcode each, colleagues sharing company and phone) EM
    on the candidate pairs settled on "same city and postcode" as the match class, and merged
    different people by the thousand; such a fit is discarded. On labelled duplicates it is kept."""
    from datetime import UTC, datetime

    from leadloop.demo.world import build_world
    from leadloop.identity.fitted import default_model
    from leadloop.identity.match import Columns, Model, Patterns, candidate_pairs, compare, learn

    world = build_world(seed=7, n_accounts=500, n_people=2000, now=datetime(2026, 11, 1, tzinfo=UTC))
    cols = map_columns(sorted({k for p in world.people for k in p}))
    recs = [record(p, cols) for p in world.people]
    i, j = candidate_pairs(recs)
    levels = compare(Columns.of(recs), i, j)
    pat = Patterns.of(levels)
    p = learn(Columns.of(recs), len(recs), pat, base=default_model()).probabilities(pat)
    assert ((p >= 0.995) & ((levels["first"] == 0) | (levels["last"] == 0))).sum() == 0

    rows = list(people_with_duplicates(20000, seed=2026))
    labelled = [record(r, map_columns(list(rows[0]))) for r in rows]
    i, j = candidate_pairs(labelled)
    pat = Patterns.of(compare(Columns.of(labelled), i, j))
    fitted = learn(Columns.of(labelled), len(labelled), pat)
    assert fitted.prior != Model().prior and fitted.m["first"][0] <= 0.2 and fitted.m["last"][0] <= 0.2
