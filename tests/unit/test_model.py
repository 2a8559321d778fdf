from datetime import UTC, datetime

import pytest

from leadloop.capture import model as m
from leadloop.contract.vocab import KNOWN_TYPES

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_person_reports_every_bad_field_at_once() -> None:
    with pytest.raises(m.RowErrors) as info:
        m.parse_person({"email": "nope", "country": "Atlantis", "created_at": "someday"})
    fields = [e.split(":")[0] for e in info.value.errors]
    assert fields == ["email", "created_at"]  # a country we cannot read never refuses a person


def test_a_bad_phone_keeps_the_person_and_the_raw_value() -> None:
    p = m.parse_person({"email": "a@acme.com", "phone": "call me maybe"})
    assert p.phone is None
    assert p.attributes["phone_raw"] == "call me maybe"


def test_salesforce_opt_out_is_inverted_into_opt_in() -> None:
    assert m.parse_person({"email": "a@acme.com", "email_opt_out": "true"}).email_opt_in is False
    assert m.parse_person({"email": "a@acme.com", "email_opt_out": "false"}).email_opt_in is True


def test_person_needs_an_identifier() -> None:
    with pytest.raises(m.RowErrors, match="needs an email, a phone or an external_id"):
        m.parse_person({"first_name": "Ann"})


def test_extra_columns_are_kept_as_attributes() -> None:
    p = m.parse_person({"email": "a@acme.com", "Favourite Colour": "blue"})
    assert p.attributes == {"Favourite Colour": "blue"}


def test_huge_field_is_refused_with_its_size() -> None:
    with pytest.raises(m.RowErrors, match="10,485,760 characters; the limit is 65,536"):
        m.parse_person({"email": "a@acme.com", "title": "x" * 10 * 1024 * 1024})


def test_account_hint_prefers_external_id_then_corporate_domain() -> None:
    assert m.parse_person({"email": "a@acme.com", "account_external_id": "A1"}).account_hint() == (
        "external_id",
        "A1",
    )
    assert m.parse_person({"email": "a@acme.com"}).account_hint() == ("domain", "acme.com")
    assert m.parse_person({"email": "a@gmail.com", "company": "Acme Inc"}).account_hint() == (
        "name_key",
        "acme",
    )
    assert m.parse_person({"email": "a@gmail.com", "company": "A"}).account_hint() is None


def test_unknown_activity_type_lists_the_known_ones() -> None:
    with pytest.raises(m.RowErrors) as info:
        m.parse_activity({"type": "telepathy", "email": "a@acme.com"}, now=NOW)
    assert "unknown activity type 'telepathy'" in str(info.value)
    for t in ("form_submit", "demo_request", "email_click"):
        assert t in str(info.value)
    assert "form_submit" in KNOWN_TYPES


def test_activity_type_spelling_is_forgiving() -> None:
    assert m.parse_activity({"type": "Demo Request", "email": "a@acme.com"}, now=NOW).type == "demo_request"


def test_activity_in_the_future_is_refused() -> None:
    with pytest.raises(m.RowErrors, match="in the future"):
        m.parse_activity({"type": "page_view", "email": "a@acme.com", "occurred_at": "2027-01-01"}, now=NOW)


def test_activity_fingerprint_is_stable_and_content_sensitive() -> None:
    a = m.parse_activity(
        {"type": "page_view", "email": "a@acme.com", "occurred_at": "2026-01-01T10:00:00Z", "url": "/x"},
        now=NOW,
    )
    b = m.parse_activity(
        {"type": "page_view", "email": "A@ACME.COM", "occurred_at": "2026-01-01 10:00", "url": "/x"}, now=NOW
    )
    c = m.parse_activity(
        {"type": "page_view", "email": "a@acme.com", "occurred_at": "2026-01-01T10:00:00Z", "url": "/y"},
        now=NOW,
    )
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_opportunity_outcome_from_salesforce_stage() -> None:
    o = m.parse_opportunity(
        {"external_id": "O1", "account_external_id": "A1", "stage": "Closed Won", "amount": "$5,000"}, now=NOW
    )
    assert (o.outcome, str(o.amount)) == ("won", "5000")
    with pytest.raises(m.RowErrors, match="is not one of won, lost, open"):
        m.parse_opportunity({"external_id": "O1", "account_external_id": "A1", "outcome": "maybe"}, now=NOW)


def test_campaign_dates_must_be_in_order() -> None:
    with pytest.raises(m.RowErrors, match="before started_at"):
        m.parse_campaign({"name": "X", "started_at": "2026-02-01", "ended_at": "2026-01-01"})
