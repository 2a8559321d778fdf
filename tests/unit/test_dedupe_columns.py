"""Which column becomes which field (headers in several languages, --map, generic evidence) and
the comparison levels of names, dates and numbers, on cases whose answer is plain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadloop.core.errors import InvalidInput
from leadloop.identity.columns import check_values, parse_maps, plan_columns, recognise
from leadloop.identity.compare import compare
from leadloop.identity.normal import loose_date_key
from leadloop.identity.records import record


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Vorname", "first_name"),
        ("Zweiter Vorname", "middle_name"),
        ("Nachname", "last_name"),
        ("Geburtsname", "birth_name"),
        ("Geburtsdatum", "dob"),
        ("Prénom", "first_name"),
        ("Date de naissance", "dob"),
        ("Code postal", "postcode"),
        ("PLZ", "postcode"),
        ("Ort", "city"),
        ("suburb", "city"),
        ("Bundesland", "state"),
        ("address_1", "address"),
        ("address_2", "address_2"),
        ("street_number", "street_number"),
        ("postcode_fake", "postcode"),
        ("soc_sec_id", "id"),
        ("Kunden-Nr", "id"),
        ("Mobile number", "phone"),
    ],
)
def test_headers_in_several_languages(header: str, field: str) -> None:
    assert recognise(header) == [field]


def test_the_plan_says_what_each_column_became_and_why_others_were_left_out() -> None:
    headers = ["id", "Vorname", "Nachname", "Geburtsdatum", "Kundennummer", "Land", "Notiz", "Leer"]
    rows = [
        {
            "id": str(k),
            "Vorname": "Anna",
            "Nachname": "Schulz",
            "Geburtsdatum": "1.2.1980",
            "Kundennummer": "K1",
            "Land": "DE",
            "Notiz": f"n{k}",
            "Leer": "",
        }
        for k in range(10)
    ]
    plan = check_values(plan_columns(headers, row_id="id"), rows)
    assert plan.fields == {"first_name": "Vorname", "last_name": "Nachname", "dob": "Geburtsdatum"}
    assert plan.ids == () and plan.texts == ("Land", "Notiz")
    assert plan.ignored["id"] == "the row id (--id-column)"
    assert plan.ignored["Leer"] == "every value is empty"
    assert plan.ignored["Kundennummer"] == "not an identifier: 'K1' is the value of 10 of 10 rows"
    report = "\n".join(plan.report())
    assert "Vorname → first_name" in report and "Leer: not used, every value is empty" in report


def test_an_identifier_with_a_different_value_on_every_row_is_no_evidence() -> None:
    rows = [{"id": str(k), "name": "A B", "ssn": f"{k:07d}"} for k in range(6)]
    plan = check_values(plan_columns(["id", "name", "ssn"], row_id="id"), rows)
    assert plan.ids == () and "a row key" in plan.ignored["ssn"]
    rows[1]["ssn"] = rows[0]["ssn"]
    assert check_values(plan_columns(["id", "name", "ssn"], row_id="id"), rows).ids == ("ssn",)


def test_map_overrides_and_refuses_what_cannot_be_meant() -> None:
    headers = ["id", "Kol A", "Kol B", "Kol C"]
    plan = plan_columns(headers, parse_maps(["Kol A=first_name", "Kol B=last_name", "Kol C=-"]), row_id="id")
    assert (
        plan.fields == {"first_name": "Kol A", "last_name": "Kol B"}
        and plan.ignored["Kol C"] == "left out with --map"
    )
    with pytest.raises(InvalidInput, match="column 'Kol A' is mapped twice"):
        parse_maps(["Kol A=first_name", "Kol A=last_name"])
    with pytest.raises(InvalidInput, match="the file has no column 'Nope'"):
        plan_columns(headers, parse_maps(["Nope=first_name"]))
    with pytest.raises(InvalidInput, match="both mapped to first_name"):
        plan_columns(headers, parse_maps(["Kol A=first_name", "Kol B=first_name"]))
    with pytest.raises(InvalidInput, match="'colour' is not a field"):
        plan_columns(headers, parse_maps(["Kol A=colour"]))
    with pytest.raises(InvalidInput, match="takes 'Column=field'"):
        parse_maps(["Kol A"])
    mapped_empty = plan_columns(headers, parse_maps(["Kol C=text"]), row_id="id")
    with pytest.raises(InvalidInput, match="'Kol C' \\(mapped with --map\\) is empty on every row"):
        check_values(mapped_empty, [{"id": "1", "Kol A": "x", "Kol B": "y", "Kol C": ""}])


COLS = ["first_name", "last_name", "dob", "street_number"]


def _levels(a: dict[str, str], b: dict[str, str]) -> dict[str, int]:
    plan = plan_columns(COLS)
    recs = [record(a, plan), record(b, plan)]
    got = compare(recs, np.array([0]), np.array([1]))
    return {f: int(v[0]) for f, v in got.items()}


def test_name_levels() -> None:
    base = {"first_name": "Katharina", "last_name": "Schneider"}
    assert _levels(base, base)["first"] == 4
    assert _levels(base, {"first_name": "Kathi", "last_name": "Schneider"})["first"] == 4  # nickname
    assert _levels(base, {"first_name": "Katharnia", "last_name": "Schnieder"}) == {"first": 3, "last": 3}
    assert _levels(base, {"first_name": "Schneider", "last_name": "Katharina"}) == {"first": 4, "last": 4}
    assert _levels(base, {"first_name": "K.", "last_name": "Schneider"})["first"] == 1  # an initial
    assert _levels(base, {"first_name": "Zoe", "last_name": "Schneider"})["first"] == 0


def test_date_levels() -> None:
    def dob(a: str, b: str) -> int:
        return _levels({"first_name": "Al", "dob": a}, {"first_name": "Al", "dob": b})["dob"]

    assert dob("1980-03-12", "12.03.1980") == 4
    assert dob("1980-03-12", "1980-12-03") == 3  # day and month transposed
    assert dob("1980-03-12", "1980-03-13") == 2  # one digit off
    assert dob("1980-03-12", "1980-07-25") == 1  # the year only
    assert dob("1980-03-12", "1955-07-25") == 0
    assert loose_date_key("19801512") == "1980-15-12"  # impossible, but still evidence


def test_number_levels() -> None:
    def number(a: str, b: str) -> int:
        return _levels({"first_name": "Al", "street_number": a}, {"first_name": "Al", "street_number": b})[
            "street_number"
        ]

    assert (number("112", "112"), number("112", "121"), number("112", "118"), number("112", "7")) == (
        2,
        1,
        1,
        0,
    )


@given(
    st.text(alphabet="abcdefghij", min_size=3, max_size=12),
    st.text(alphabet="abcdefghij", min_size=3, max_size=12),
)
def test_name_levels_are_symmetric_and_the_same_name_is_top(a: str, b: str) -> None:
    x = {"first_name": a, "last_name": b}
    y = {"first_name": b, "last_name": a}
    assert _levels(x, x) == {"first": 4, "last": 4}
    assert _levels(x, y) == _levels(y, x)
