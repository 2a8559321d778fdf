"""A person as the matcher sees it: every field as a match key, from whatever columns a file or the
warehouse has. Files without an e-mail column still match on name, address, postcode, birth date
and phone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leadloop.identity import normal as n

ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": (
        "first_name",
        "firstname",
        "first",
        "given_name",
        "givenname",
        "forename",
        "vorname",
        "prenom",
    ),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name", "familyname", "nachname", "nom"),
    "full_name": ("name", "full_name", "fullname", "contact", "contact_name", "person"),
    "email": ("email", "e_mail", "email_address", "mail", "emailaddress"),
    "phone": ("phone", "telephone", "tel", "mobile", "phone_number", "mobilephone", "cell"),
    "postcode": ("postcode", "zip", "zipcode", "zip_code", "postal_code", "postalcode", "plz"),
    "dob": ("dob", "date_of_birth", "birth_date", "birthdate", "birthday"),
    "company": ("company", "organisation", "organization", "account", "account_name", "employer", "firm"),
    "address": ("address", "street", "address_line1", "address1", "street_address", "addr"),
    "city": ("city", "town", "locality"),
}


def _canon(header: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in header.strip().casefold()).strip("_")


def map_columns(headers: list[str]) -> dict[str, str]:
    """Our field -> the file's column, for the columns the file has."""
    canon = {_canon(h): h for h in headers}
    out: dict[str, str] = {}
    for field, names in ALIASES.items():
        for name in names:
            if name in canon:
                out[field] = canon[name]
                break
    return out


@dataclass(frozen=True, slots=True)
class Rec:
    first: str | None
    last: str | None
    first_canon: str | None
    email: str | None
    email_local: str | None
    phone: str | None
    postcode: str | None
    dob: str | None
    company: str | None
    address: str | None
    city: str | None

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.first, self.last) if p)


def record(
    row: Mapping[str, str | None],
    columns: Mapping[str, str],
    *,
    gmail_dots: bool = True,
    plus_tags: bool = True,
) -> Rec:
    def get(field: str) -> str | None:
        col = columns.get(field)
        return row.get(col) if col else None

    first, last = get("first_name"), get("last_name")
    if not (first or last) and (full := n.text_key(get("full_name"))):
        parts = full.split(" ")
        first, last = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else (None, parts[0])
    email = n.email_key(get("email"), gmail_dots=gmail_dots, plus_tags=plus_tags)
    return Rec(
        n.name_key(first),
        n.name_key(last),
        n.first_name_key(first),
        email,
        email.split("@")[0] if email else None,
        n.phone_key(get("phone")),
        n.postcode_key(get("postcode")),
        n.date_key(get("dob")),
        n.company_key(get("company")),
        n.address_key(get("address")),
        n.text_key(get("city")),
    )
