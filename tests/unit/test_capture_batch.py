"""The pure rules of capturing people: folding a batch, consent, and what a record changes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from leadloop.capture import model as m

STORED: dict[str, Any] = {
    **dict.fromkeys(m.PERSON_COLUMNS),
    "email": "ann@acme.com",
    "email_kind": "corporate",
    "first_name": "Ann",
    "account_id": 7,
    "campaign_id": None,
    "email_opt_in": False,
    "attributes": {"colour": "blue"},
}


def _changes(incoming: m.PersonIn, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "same_address": False,
        "address_taken": False,
        "account_id": None,
        "account_hint_given": False,
        "account_why": None,
        "campaign_id": None,
    }
    return m.person_changes(STORED, incoming, **{**args, **kw})


def test_rows_about_one_person_fold_into_one_and_the_callers_records_stay_as_they_were() -> None:
    a = m.parse_person({"email": "ann@acme.com", "first_name": "Ann"})
    b = m.parse_person({"email": "bob@acme.com"})
    c = m.parse_person({"email": "ann@acme.com", "last_name": "Lee", "email_opt_in": "false"})
    folded = m.fold_batch([a, b, c])
    assert folded.slot_of == [0, 1, 0] and folded.first_rows() == [True, True, False]
    ann = folded.people[0]
    assert (ann.first_name, ann.last_name, ann.email_opt_in) == ("Ann", "Lee", False)
    assert a.last_name is None and ann is not a  # copied, never changed in place


def test_an_external_id_joins_rows_even_with_other_emails() -> None:
    a = m.parse_person({"external_id": "X1", "email": "old@acme.com"})
    b = m.parse_person({"external_id": "X1", "email": "new@acme.com"})
    assert m.fold_batch([a, b]).people[0].email == "new@acme.com"


@given(st.sampled_from([None, True, False]), st.sampled_from([None, True, False]), st.booleans())
def test_an_opt_out_is_never_undone_without_explicit_consent(
    current: bool | None, incoming: bool | None, explicit: bool
) -> None:
    result = m.consent(current, incoming, explicit=explicit)
    if current is False and not explicit:
        assert result is False
    elif incoming is not None:
        assert result is incoming
    else:
        assert result is current


def test_only_what_differs_changes_and_attributes_are_united() -> None:
    incoming = m.parse_person({"email": "ann@acme.com", "first_name": "Ann", "title": "CTO", "shoe": "42"})
    change = _changes(incoming)
    assert change == {
        "title": "CTO",
        "seniority": "C-Level",  # read from the title, which the stored person lacked
        "department": "Engineering",
        "attributes": {"colour": "blue", "shoe": "42"},
    }
    assert _changes(m.parse_person({"email": "ann@acme.com", "first_name": "Ann"})) == {}


def test_an_address_that_belongs_to_someone_else_is_kept_beside_never_stolen() -> None:
    change = _changes(m.parse_person({"email": "bob@acme.com"}), address_taken=True)
    assert "email" not in change and change["attributes"]["email_conflict"] == "bob@acme.com"
    assert _changes(m.parse_person({"email": "a.nn@acme.com"}), same_address=True) == {}


def test_a_record_never_writes_consent_itself_consent_does_from_its_log() -> None:
    """ADR 0027: `email_opt_in` is derived by consent/ (its rules: tests/unit/test_consent_model.py)."""
    for said in ("true", "false"):
        assert "email_opt_in" not in _changes(m.parse_person({"email": "ann@acme.com", "email_opt_in": said}))


def test_a_new_account_match_moves_the_person_with_its_reason() -> None:
    change = _changes(
        m.parse_person({"email": "ann@acme.com"}),
        account_id=9,
        account_hint_given=True,
        account_why="e-mail domain acme.com",
    )
    assert (change["account_id"], change["account_match"]) == (9, "e-mail domain acme.com")
