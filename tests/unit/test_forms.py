"""Any existing form, as it is: the field names of common form builders and languages map onto the
lead, one full name is split, and an e-mail under any name is found."""

from __future__ import annotations

import pytest

from leadloop.capture.forms import map_form, split_name
from leadloop.capture.schemas import LeadCreate

KNOWN = frozenset(LeadCreate.model_fields) - {"attributes", "activity_type", "created_at", "occurred_at"}


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        (  # WordPress Contact Form 7
            {
                "your-name": "Ann Lee",
                "your-email": "ann@acme.com",
                "your-subject": "Demo",
                "your-message": "Call me",
            },
            {"first_name": "Ann", "last_name": "Lee", "email": "ann@acme.com", "message": "Call me"},
        ),
        (  # a hand-written form, Webflow or Squarespace style
            {"Email": "bo@acme.com", "FirstName": "Bo", "LastName": "Berg", "Company": "Acme"},
            {"email": "bo@acme.com", "first_name": "Bo", "last_name": "Berg", "company": "Acme"},
        ),
        (  # HubSpot's own names
            {
                "firstname": "Cy",
                "lastname": "Choi",
                "email": "cy@acme.com",
                "jobtitle": "CTO",
                "phone": "+44 20 7946 0000",
            },
            {
                "first_name": "Cy",
                "last_name": "Choi",
                "email": "cy@acme.com",
                "title": "CTO",
                "phone": "+44 20 7946 0000",
            },
        ),
        (  # Salesforce web-to-lead, with a custom field id
            {
                "first_name": "Di",
                "last_name": "Dow",
                "email": "di@acme.com",
                "company": "Acme",
                "00N5e00000ABCDE": "x",
            },
            {"first_name": "Di", "last_name": "Dow", "email": "di@acme.com", "company": "Acme"},
        ),
        (  # Elementor, German labels
            {
                "form_fields[vorname]": "Eva",
                "form_fields[nachname]": "Ernst",
                "form_fields[e-mail]": "eva@firma.de",
                "form_fields[firma]": "Firma GmbH",
                "form_fields[nachricht]": "Angebot bitte",
            },
            {
                "first_name": "Eva",
                "last_name": "Ernst",
                "email": "eva@firma.de",
                "company": "Firma GmbH",
                "message": "Angebot bitte",
            },
        ),
        (  # a postal address, Contact Form 7 and German labels (direct mail needs the street)
            {
                "your-email": "gil@acme.com",
                "your-address": "1 Main St",
                "form_fields[plz]": "10115",
                "Ort": "Berlin",
            },
            {"email": "gil@acme.com", "street": "1 Main St", "postcode": "10115", "city": "Berlin"},
        ),
        (
            {"email": "hal@firma.de", "Straße": "Hauptstraße 12", "zip": "10115"},
            {"email": "hal@firma.de", "street": "Hauptstraße 12", "postcode": "10115"},
        ),
        (  # an e-mail under a name nobody would guess
            {"field_7": "Fay", "field_9": "fay@acme.com"},
            {"email": "fay@acme.com"},
        ),
    ],
)
def test_real_forms_map_onto_the_lead(posted: dict[str, str], expected: dict[str, str]) -> None:
    got = map_form(posted, known=KNOWN)
    assert {k: got.fields[k] for k in expected} == expected
    assert "email" in got.fields


def test_what_maps_to_nothing_is_kept_and_a_hidden_id_is_not_the_persons_id() -> None:
    got = map_form({"email": "a@b.co", "id": "contact-form-3", "favourite_colour": "blue"}, known=KNOWN)
    assert "external_id" not in got.fields
    assert got.extras == {"id": "contact-form-3", "favourite_colour": "blue"}
    assert got.mapped == {"email": "email"}


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ann Lee", "Ann", "Lee"),
        ("Lee, Ann", "Ann", "Lee"),
        ("Ann", "Ann", None),
        ("  Jean  Paul  Sartre ", "Jean", "Paul Sartre"),
    ],
)
def test_one_full_name_is_split(full: str, first: str, last: str | None) -> None:
    assert split_name(full) == (first, last)
