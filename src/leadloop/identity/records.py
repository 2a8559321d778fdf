"""A person as the matcher sees it: every field as a match key, from whatever columns a file or the
warehouse has. Files without an e-mail column still match on name, address, postcode, birth date
and phone; identifiers and other columns a file has are generic evidence (see `columns`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leadloop.identity import normal as n
from leadloop.identity.columns import ALIASES, ColumnPlan, plan_columns

__all__ = ["ALIASES", "Rec", "map_columns", "record"]


def map_columns(headers: list[str]) -> dict[str, str]:
    """Our field -> the file's column, for the person fields the file has."""
    return plan_columns(headers).fields


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
    middle: str | None = None
    birth: str | None = None  # birth or maiden name
    address2: str | None = None
    street_number: str | None = None
    state: str | None = None
    initial: str | None = None  # of the first name, also when the name is only an initial ("J.")
    ids: tuple[str | None, ...] = ()  # identifier columns, in the plan's order
    texts: tuple[str | None, ...] = ()  # free-text columns, in the plan's order

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.first, self.last) if p)


def _id_key(value: str | None) -> str | None:
    """An identifier with its spaces, dashes and dots dropped (123-45-678 is 12345678)."""
    text = n.text_key(value)
    return text.replace(" ", "") if text else None


def record(
    row: Mapping[str, str | None],
    columns: Mapping[str, str] | ColumnPlan,
    *,
    gmail_dots: bool = True,
    plus_tags: bool = True,
) -> Rec:
    plan = columns if isinstance(columns, ColumnPlan) else None
    fields: Mapping[str, str] = columns.fields if isinstance(columns, ColumnPlan) else columns

    def get(field: str) -> str | None:
        col = fields.get(field)
        return row.get(col) if col else None

    first, last = get("first_name"), get("last_name")
    if not (first or last) and (full := n.text_key(get("full_name"))):
        parts = full.split(" ")
        first, last = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else (None, parts[0])
    email = n.email_key(get("email"), gmail_dots=gmail_dots, plus_tags=plus_tags)
    dob = n.loose_date_key(get("dob")) or n.date_from_parts(get("dob_year"), get("dob_month"), get("dob_day"))
    number = n.text_key(get("street_number"))
    return Rec(
        n.name_key(first),
        n.name_key(last),
        n.first_name_key(first),
        email,
        n.handle_key(email.rpartition("@")[0]) if email else None,
        n.phone_key(get("phone")),
        n.postcode_key(get("postcode")),
        dob,
        n.company_key(get("company")),
        n.address_key(get("address")),
        n.text_key(get("city")),
        n.name_key(get("middle_name")),
        n.name_key(get("birth_name")),
        n.address_key(get("address_2")),
        number.replace(" ", "") if number else None,
        n.text_key(get("state")),
        initial[:1] if (initial := n.text_key(first)) else None,
        tuple(_id_key(row.get(c)) for c in plan.ids) if plan else (),
        tuple(n.text_key(row.get(c)) for c in plan.texts) if plan else (),
    )
