"""What a person may change on a person or an account, cleaned with the same normalisers as
capture, and what an edit changes. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from leadloop.contract import normalise as n
from leadloop.core.errors import Conflict, InvalidInput

# field -> longest text accepted (the column's width)
PERSON_FIELDS: dict[str, int] = {
    "first_name": 200,
    "last_name": 200,
    "title": 300,
    "seniority": 50,
    "department": 100,
    "email": 320,
    "phone": 100,
    "company": 300,
    "website": 2048,
    "street": 300,
    "country": 100,
    "state": 100,
    "city": 200,
    "postcode": 20,
}
ACCOUNT_FIELDS: dict[str, int] = {
    "name": 300,
    "domain": 2048,
    "industry": 200,
    "employees": 30,
    "annual_revenue": 40,
    "country": 100,
    "state": 100,
    "city": 200,
    "postcode": 20,
    "sic_code": 10,
    "naics_code": 10,
    "sites": 30,
}
LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "title": "Title",
    "seniority": "Seniority",
    "department": "Department",
    "email": "E-mail",
    "phone": "Phone",
    "company": "Company",
    "website": "Website",
    "street": "Street",
    "country": "Country",
    "state": "State",
    "city": "City",
    "postcode": "Postcode",
    "name": "Name",
    "domain": "Domain",
    "industry": "Industry",
    "employees": "Employees",
    "annual_revenue": "Annual revenue",
    "sic_code": "SIC code",
    "naics_code": "NAICS code",
    "sites": "Sites",
}
MANUAL = "manual"  # the provenance method of a value a person typed: it wins over later imports


class EditRefused(InvalidInput):
    """One or more fields cannot be taken; `errors` names each with the reason. Nothing was saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{f}: {why}" for f, why in errors.items()) + "; nothing was saved")


class EditedMeanwhile(Conflict):
    def __init__(self, noun: str, at: datetime, by: str | None) -> None:
        who = f" by {by}" if by else ""
        super().__init__(
            f"this {noun} was changed{who} at {at:%Y-%m-%d %H:%M:%S} UTC after you opened it; nothing "
            "was saved: reload to see that change, then make yours again"
        )


def _text(limit: int) -> Callable[[str | None], Any]:
    def clean(raw: str | None) -> str | None:
        text = n.clean_text(raw)
        if text is not None and len(text) > limit:
            raise InvalidInput(f"at most {limit} characters (this has {len(text)})")
        return text

    return clean


def _email(raw: str | None) -> str | None:
    found = n.normalise_email(raw)
    return found.address if found else None


def _number(kind: Callable[..., Any], field: str, most: int) -> Callable[[str | None], Any]:
    """A number as capture reads it ("1,200", "2.5M"), no larger than its column holds."""

    def clean(raw: str | None) -> Any:
        value = kind(raw, field=field.replace("_", " "))
        if value is not None and abs(value) > most:
            raise InvalidInput(f"{int(value):,} is more than the largest this field holds ({most:,})")
        return value

    return clean


_PERSON_CLEAN: dict[str, Callable[[str | None], Any]] = {
    **{f: _text(limit) for f, limit in PERSON_FIELDS.items()},
    "email": _email,
    "country": n.normalise_country,
    "website": n.registrable_domain,
}
_ACCOUNT_CLEAN: dict[str, Callable[[str | None], Any]] = {
    **{f: _text(limit) for f, limit in ACCOUNT_FIELDS.items()},
    "domain": n.registrable_domain,
    "country": n.normalise_country,
    "employees": _number(n.parse_int, "employees", 2**31 - 1),
    "sites": _number(n.parse_int, "sites", 2**31 - 1),
    "annual_revenue": _number(n.parse_decimal, "annual_revenue", 10**16 - 1),  # NUMERIC(18, 2)
}


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _clean(given: Mapping[str, Any], cleaners: Mapping[str, Callable[[str | None], Any]]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(cleaners))
    errors = {f: "not a field that can be edited" for f in unknown}
    out: dict[str, Any] = {}
    for f, raw in given.items():
        if f in cleaners:
            try:
                out[f] = cleaners[f](_as_text(raw))
            except InvalidInput as exc:
                errors[f] = str(exc)
    if errors:
        raise EditRefused(errors)
    return out


def clean_person(given: Mapping[str, Any], *, stored_country: str | None) -> dict[str, Any]:
    """The person's new values, normalised as a capture would (e-mail lower-cased and checked, phone
    in E.164 read with the person's country, country as ISO code, website as its domain)."""
    phone = given.get("phone")
    values = _clean({k: v for k, v in given.items() if k != "phone"}, _PERSON_CLEAN)
    if "phone" in given:
        try:
            text = _PERSON_CLEAN["phone"](_as_text(phone))
            region = values.get("country", stored_country)
            values["phone"] = n.normalise_phone(text, region) if text else None
        except InvalidInput as exc:
            raise EditRefused({"phone": str(exc)}) from None
    if "email" in values:
        address = values["email"]
        values["email_kind"] = n.email_kind(address.rsplit("@", 1)[1]) if address else None
    return values


def clean_account(given: Mapping[str, Any]) -> dict[str, Any]:
    values = _clean(given, _ACCOUNT_CLEAN)
    if "name" in values and not values["name"]:
        raise EditRefused({"name": "an account needs a name"})
    if "name" in values:
        values["name_key"] = (n.company_key(values["name"]) or values["name"].casefold())[:300]
    return values


def changes(current: Mapping[str, Any], new: Mapping[str, Any], fields: Mapping[str, int]) -> dict[str, Any]:
    """field -> (old, new) for each editable field whose value differs."""
    return {f: (current[f], v) for f, v in new.items() if f in fields and current[f] != v}


def as_json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
