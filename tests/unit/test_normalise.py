from datetime import UTC, datetime
from decimal import Decimal

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from leadloop.contract import normalise as n
from leadloop.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "address", "kind"),
    [
        ("  John.Smith+News@ACME.com ", "john.smith+news@acme.com", "corporate"),
        ("mailto:ana@gmail.com", "ana@gmail.com", "free"),
        ("x@mailinator.com", "x@mailinator.com", "disposable"),
        ("Åsa@exämple.se", "åsa@xn--exmple-cua.se", "corporate"),
    ],
)
def test_email_is_validated_lower_cased_and_classified(raw: str, address: str, kind: str) -> None:
    email = n.normalise_email(raw)
    assert email is not None
    assert email.address.split("@")[0] == address.split("@")[0]
    assert email.kind == kind


@pytest.mark.parametrize(
    "raw", ["not-an-email", "a@b", "a@@b.com", "a b@c.com", "x@localhost.test", "x@" + "a" * 64 + ".com"]
)
def test_invalid_email_says_why(raw: str) -> None:
    with pytest.raises(InvalidInput, match="is not valid"):
        n.normalise_email(raw)


def test_empty_email_is_none() -> None:
    assert n.normalise_email("   ") is None
    assert n.normalise_email(None) is None


_atom = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-+", min_size=1, max_size=12)


@given(
    local=st.lists(_atom, min_size=1, max_size=3),
    labels=st.lists(
        st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=1, max_size=3
    ),
    tld=st.sampled_from(["com", "de", "io", "co", "org"]),
)
def test_fast_path_agrees_with_email_validator(local: list[str], labels: list[str], tld: str) -> None:
    raw = ".".join(local) + "@" + ".".join(labels) + "." + tld
    try:
        expected: str | None = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    if expected is None:
        with pytest.raises(InvalidInput):
            n.normalise_email(raw)
    else:
        email = n.normalise_email(raw)
        assert email is not None and email.address == expected


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (415) 555-2671", None, "+14155552671"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 901820", "DE", "+4930901820"),
    ],
)
def test_phone_to_e164(raw: str, region: str | None, e164: str) -> None:
    assert n.normalise_phone(raw, region) == e164


def test_phone_without_country_asks_for_one() -> None:
    with pytest.raises(InvalidInput, match=r"\+country code"):
        n.normalise_phone("555-2671")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("de", "DE"),
        ("DEU", "DE"),
        ("Germany", "DE"),
        ("UK", "GB"),
        ("United States of America", "US"),
        ("  usa ", "US"),
        ("Deutschland", "DE"),
    ],
)
def test_country_to_iso(raw: str, code: str) -> None:
    assert n.normalise_country(raw) == code


def test_unknown_country_is_named() -> None:
    with pytest.raises(InvalidInput, match="'Atlantis' is not an ISO 3166"):
        n.normalise_country("Atlantis")


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.shop.acme.co.uk/x?y=1", "acme.co.uk"),
        ("ACME.COM", "acme.com"),
        ("john@sub.example.com.au", "example.com.au"),
        ("blog.github.io", "blog.github.io"),
    ],
)
def test_registrable_domain_uses_public_suffix_list(raw: str, domain: str) -> None:
    assert n.registrable_domain(raw) == domain


@pytest.mark.parametrize("raw", ["localhost", "not a url", "http://"])
def test_no_registrable_domain(raw: str) -> None:
    with pytest.raises(InvalidInput):
        n.registrable_domain(raw)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Acme, Inc.", "ACME Inc"),
        ("Siemens AG", "siemens"),
        ("Müller GmbH & Co. KG", "müller"),
        ("トヨタ自動車株式会社", "トヨタ自動車株式会社"),
    ],
)
def test_company_key_strips_legal_suffixes_and_keeps_scripts(a: str, b: str) -> None:
    assert n.company_key(a) == n.company_key(b)
    assert n.company_key(a)


def test_blank_company_is_no_key() -> None:
    assert n.company_key("    ") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-05T14:30:00Z", datetime(2026, 3, 5, 14, 30, tzinfo=UTC)),
        ("2026-03-05 14:30", datetime(2026, 3, 5, 14, 30, tzinfo=UTC)),
        ("2026-03-05T14:30:00+01:00", datetime(2026, 3, 5, 13, 30, tzinfo=UTC)),
        ("03/05/2026", datetime(2026, 3, 5, tzinfo=UTC)),
        ("25/12/2026", datetime(2026, 12, 25, tzinfo=UTC)),
        ("3/5/2026 2:15 PM", datetime(2026, 3, 5, 14, 15, tzinfo=UTC)),
        ("05.03.2026", datetime(2026, 3, 5, tzinfo=UTC)),
        ("1772721000", datetime(2026, 3, 5, 14, 30, tzinfo=UTC)),
    ],
)
def test_dates_in_export_spellings(raw: str, expected: datetime) -> None:
    assert n.parse_datetime(raw) == expected


def test_bad_date_shows_the_format() -> None:
    with pytest.raises(InvalidInput, match="ISO 8601"):
        n.parse_datetime("next tuesday", field="occurred_at")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("$1,200,000", Decimal(1200000)),
        ("1.2M", Decimal("1200000.0")),
        ("15000.50", Decimal("15000.50")),
        ("3k", Decimal(3000)),
        # European exports and people who write the decimal comma: never read 12.000,50 as 12.
        ("12.000,50", Decimal("12000.50")),
        ("1.234.567,8", Decimal("1234567.8")),
        ("1,5", Decimal("1.5")),
        ("0,99", Decimal("0.99")),
        ("25,000", Decimal(25000)),
        ("1 234,56", Decimal("1234.56")),
        ("1'000'000", Decimal(1000000)),
        ("1.000.000", Decimal(1000000)),
        ("-1,000", Decimal(-1000)),
    ],
)
def test_money(raw: str, value: Decimal) -> None:
    assert n.parse_decimal(raw, field="x") == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12.000,50", Decimal("12000.50")),
        ("25,000", Decimal("25000.00")),
        ("12.5", Decimal("12.50")),
        ("", None),
    ],
)
def test_an_amount_a_person_typed(raw: str, value: Decimal | None) -> None:
    assert n.parse_money(raw, field="amount") == value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12.000", "more than two decimals: for thousands write it without the separator"),
        ("1,2,3.4.5", "is not a number"),
        ("-5", "cannot be negative"),
        ("ten", "is not a number"),
    ],
)
def test_an_amount_that_could_be_misread_is_refused_with_both_readings(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        n.parse_money(raw, field="amount")


def test_not_a_number() -> None:
    with pytest.raises(InvalidInput, match="'lots' is not a number"):
        n.parse_decimal("lots", field="amount")
    with pytest.raises(InvalidInput, match="negative"):
        n.parse_int("-4", field="employees")


def test_booleans() -> None:
    assert n.parse_bool("Yes", field="f") is True
    assert n.parse_bool("opted out", field="f") is False
    assert (
        n.parse_bool("nein", field="f"),
        n.parse_bool("Oui", field="f"),
        n.parse_bool("Sí", field="f"),
    ) == (False, True, True)
    with pytest.raises(InvalidInput, match="yes/no"):
        n.parse_bool("perhaps", field="f")


def test_clean_text_folds_white_space_and_normalises_unicode() -> None:
    assert n.clean_text("  Jos\u0065\u0301   García \t") == "José García"
    assert n.clean_text(" \t ") is None
