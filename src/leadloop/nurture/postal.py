"""Is this a postal address a piece of direct mail can reach? Pure: the person's own fields in, a
verdict out (with the reason a skipped step records on the enrolment).

The rule, kept simple on purpose (a print house's address validation is the real test):
- a street line, a city and a country are required; the street has at least three letters and is
  not a placeholder ("-", "n/a", "unknown" and "12" alone are not streets), the city has a letter;
- a postcode is required too, except in the countries that have none in common use (`NO_POSTCODE`);
- where the country is one of the common ones in `POSTCODES`, the postcode must have that country's
  shape (five digits in Germany, "SW1A 1AA" in Britain...), compared without case or spaces;
  elsewhere any postcode of up to 20 letters, digits, spaces and dashes is taken.

Only the person's own address counts: their account's country or city is the company's, and mixing
the two would mail a piece to a street in the wrong town.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPLETE = "complete"
NO_ADDRESS = "no_address"  # a part is missing
BAD_POSTCODE = "bad_postcode"  # the postcode does not have its country's shape

# Postcode shapes of the common countries (upper case, single spaces); others are not checked.
POSTCODES: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "US": r"\d{5}(-\d{4})?",
        "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
        "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
        "DE": r"\d{5}",
        "FR": r"\d{5}",
        "ES": r"\d{5}",
        "IT": r"\d{5}",
        "NL": r"\d{4} ?[A-Z]{2}",
        "BE": r"\d{4}",
        "AT": r"\d{4}",
        "CH": r"\d{4}",
        "DK": r"\d{4}",
        "NO": r"\d{4}",
        "AU": r"\d{4}",
        "SE": r"\d{3} ?\d{2}",
        "PL": r"\d{2}-\d{3}",
        "JP": r"\d{3}-?\d{4}",
        "IN": r"\d{6}",
        "BR": r"\d{5}-?\d{3}",
    }.items()
}
# Countries where letters are delivered without one (Ireland's Eircode is still often left out).
NO_POSTCODE = frozenset({"IE", "HK", "AE", "QA", "PA", "JM", "BS", "BZ", "BO", "FJ"})
_ANY_POSTCODE = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,19}")
_LETTER = re.compile(r"[^\W\d_]")
_PLACEHOLDERS = frozenset({"na", "none", "null", "unknown", "tbd", "tba", "notknown", "notavailable"})


@dataclass(frozen=True)
class Address:
    """A complete address, as a print house wants it (the name and company on the first lines)."""

    name: str | None
    company: str | None
    street: str
    postcode: str | None
    city: str
    state: str | None
    country: str


@dataclass(frozen=True)
class AddressCheck:
    """The verdict: `allowed` when the address is complete; otherwise `reason` (no_address or
    bad_postcode) and `words`, what is wrong, for the step log."""

    allowed: bool
    reason: str
    words: str
    address: Address | None = None


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _has_letter(value: str | None, *, at_least: int = 1) -> bool:
    return value is not None and len(_LETTER.findall(value)) >= at_least


def _street(value: str | None) -> bool:
    letters = "".join(_LETTER.findall(value or "")).casefold()
    return len(letters) >= 3 and letters not in _PLACEHOLDERS


def postcode_fits(country: str, postcode: str) -> bool:
    """Does the postcode have its country's shape (any shape for a country not in POSTCODES)?"""
    code = " ".join(postcode.upper().split())
    pattern = POSTCODES.get(country.upper())
    return bool((pattern or _ANY_POSTCODE).fullmatch(code))


def check_address(fields: Mapping[str, Any]) -> AddressCheck:
    """The person's `street`, `postcode`, `city`, `state` and `country` (an ISO code, as capture
    stores it), with `first_name`, `last_name` and `company` for the label."""
    street, postcode, city = (
        _text(fields.get("street")),
        _text(fields.get("postcode")),
        _text(fields.get("city")),
    )
    country = (_text(fields.get("country")) or "").upper() or None
    missing = [
        part
        for part, ok in (
            ("street", _street(street)),
            ("postcode", postcode is not None or (country is not None and country in NO_POSTCODE)),
            ("city", _has_letter(city)),
            ("country", country is not None and len(country) == 2 and country.isalpha()),
        )
        if not ok
    ]
    if missing:
        return AddressCheck(False, NO_ADDRESS, "no " + ", no ".join(missing))
    assert street is not None and city is not None and country is not None
    if postcode is not None and not postcode_fits(country, postcode):
        return AddressCheck(False, BAD_POSTCODE, f"{postcode!r} is not a postcode of {country}")
    name = _text(" ".join(str(fields.get(k) or "") for k in ("first_name", "last_name")))
    address = Address(
        name=name,
        company=_text(fields.get("company")),
        street=street,
        postcode=postcode,
        city=city,
        state=_text(fields.get("state")),
        country=country,
    )
    return AddressCheck(True, COMPLETE, "complete", address)
