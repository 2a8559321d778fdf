"""Fit over columns gives exactly what evaluate_fit gives person by person (score, grade, first
exclusion), for the shipped model and for made-up people, including missing and odd values."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.scoring.document import ACCOUNT_FIELDS, PERSON_FIELDS, parse_model
from leadloop.scoring.fit import evaluate_fit
from leadloop.scoring.fit_columns import fit_columns
from leadloop.scoring.repository import default_model

MIXED = parse_model(
    """\
name: mixed
fit:
  rules:
    - id: big
      when: {field: account.employees, gte: 200, lte: 5000}
      points: 20
    - id: exact
      when: {field: account.employees, equals: 42}
      points: 7.5
    - id: named
      when: {field: account.industry, equals: Software}
      points: 10
    - id: as_text
      when: {field: person.company, in: ["1.0", "true", "42"]}
      points: 5
    - id: known_state
      when: {field: person.state, exists: true}
      points: 3
    - id: no_country
      when: {field: person.country, exists: false}
      points: -4
    - id: both
      when: {all: [{rule: big}, {any: [{field: person.title, contains: [head, chief]}, {rule: named}]}]}
      points: 30
    - id: blocked
      when: {field: person.email_kind, in: [disposable]}
      exclude: true
    - id: late_block
      when: {all: [{rule: both}, {field: person.department, equals: Legal}]}
      exclude: true
  grades: {A: 60, B: 30, C: 10}
"""
)
VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        ["VP", "Head of Sales", "chief x", "Software", " software ", "Legal", "disposable", "", "DE"]
    ),
    st.integers(min_value=-10, max_value=10_000),
    st.sampled_from(["42", "42.0", "abc", "200"]),
    # Equal as keys, different as text ("1", "1.0", "true"): a column may mix them.
    st.sampled_from([42.0, 200.0, 1, 1.0, True]),
)
ROW = st.fixed_dictionaries(
    {f"person.{f}": VALUES for f in PERSON_FIELDS} | {f"account.{f}": VALUES for f in ACCOUNT_FIELDS}
)


def _one_by_one(model: Any, rows: list[dict[str, Any]]) -> list[tuple[float, str, str | None]]:
    out = []
    for r in rows:
        person = {k.split(".", 1)[1]: v for k, v in r.items() if k.startswith("person.")}
        account = {k.split(".", 1)[1]: v for k, v in r.items() if k.startswith("account.")}
        fit = evaluate_fit(model, person, account)
        out.append((fit.score, fit.grade, fit.excluded_by))
    return out


def _columns(model: Any, rows: list[dict[str, Any]]) -> list[tuple[float, str, str | None]]:
    cols = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
    got = fit_columns(model, cols, len(rows))
    return list(zip(got.score.tolist(), got.grade, got.excluded_by, strict=True))


@settings(max_examples=25, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=20))
def test_columns_agree_with_one_person_at_a_time(rows: list[dict[str, Any]]) -> None:
    for model in (MIXED, default_model()):
        assert _columns(model, rows) == _one_by_one(model, rows)


def test_the_shipped_model_on_typical_people() -> None:
    rows = [
        {
            "person.seniority": "VP",
            "person.department": "Marketing",
            "person.email_kind": "corporate",
            "account.industry": "Software",
            "account.employees": 500,
        },
        {"person.title": "MBA Student", "person.seniority": "VP", "account.employees": 5000},
        {"person.seniority": "Intern"},
        {},
    ]
    full = [
        {f"person.{f}": None for f in PERSON_FIELDS} | {f"account.{f}": None for f in ACCOUNT_FIELDS} | r
        for r in rows
    ]
    assert _columns(default_model(), full) == _one_by_one(default_model(), full)
    assert [e for _, _, e in _columns(default_model(), full)] == [None, "student", "student", None]
