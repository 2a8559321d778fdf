"""The pure rules of edit and reassign: cleaning an edit as a capture would, who may edit, why an
owner cannot take leads, the request's bounds, and a manual value surviving a merge."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadloop.access.model import may_edit
from leadloop.auth.model import Role
from leadloop.capture.model import PERSON_COLUMNS, parse_person, person_changes
from leadloop.core.errors import InvalidInput
from leadloop.edits.model import PERSON_FIELDS, EditRefused, changes, clean_account, clean_person
from leadloop.identity.survivorship import FIRST_WINS, SURVIVING_FIELDS, survive
from leadloop.routing.reassign import MAX_LEADS, check_request, owner_refusal

T = datetime(2026, 11, 1, tzinfo=UTC)


def test_an_edit_is_cleaned_like_a_capture() -> None:
    values = clean_person(
        {
            "email": " Greta@Polar.SE ",
            "phone": "040-123 45 67",
            "first_name": "  Greta  ",
            "website": "https://www.polar.se/x",
        },
        stored_country="SE",
    )
    assert values == {
        "email": "greta@polar.se",
        "email_kind": "corporate",
        "phone": "+46401234567",
        "first_name": "Greta",
        "website": "polar.se",
    }
    assert clean_person({"title": "", "phone": None}, stored_country=None) == {"title": None, "phone": None}


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(EditRefused) as refused:
        clean_person(
            {"email": "x@", "country": "Atlantis", "shoe_size": "44", "first_name": "x" * 201},
            stored_country=None,
        )
    assert set(refused.value.errors) == {"email", "country", "shoe_size", "first_name"}
    assert refused.value.errors["first_name"] == "at most 200 characters (this has 201)"
    assert str(refused.value).endswith("nothing was saved")
    with pytest.raises(EditRefused, match="phone: phone '0301234' is not a possible phone number"):
        clean_person({"phone": "0301234"}, stored_country=None)


def test_an_account_edit_and_its_numbers() -> None:
    values = clean_account({"name": "Polar Signal AB", "employees": "1,200", "annual_revenue": "$2.5M"})
    assert values["employees"] == 1200 and values["annual_revenue"] == Decimal("2500000.0")
    assert values["name_key"] == "polar signal"
    with pytest.raises(EditRefused, match="name: an account needs a name"):
        clean_account({"name": "  "})
    with pytest.raises(EditRefused, match="employees: employees '-3' cannot be negative"):
        clean_account({"employees": "-3"})
    with pytest.raises(EditRefused, match="annual_revenue: 10,000,000,000,000,000 is more than the largest"):
        clean_account({"annual_revenue": "1e16"})


def test_changes_lists_only_what_differs() -> None:
    current = dict.fromkeys(PERSON_FIELDS) | {"title": "CTO", "city": "Lund"}
    assert changes(current, {"title": "CTO", "city": "Malmö"}, PERSON_FIELDS) == {"city": ("Lund", "Malmö")}


def test_who_may_edit() -> None:
    for role in (Role.ADMIN, Role.MARKETING, Role.MANAGER):
        assert may_edit(role, 1, lead_owners=[], account_owner=None)
    assert may_edit(Role.REP, 7, lead_owners=[3, 7], account_owner=None)
    assert may_edit(Role.REP, 7, lead_owners=[None], account_owner=7)
    assert not may_edit(Role.REP, 7, lead_owners=[3, None], account_owner=3)  # a team mate's or a queue's
    assert not may_edit(Role.PARTNER, 7, lead_owners=[7], account_owner=7)


def test_an_import_leaves_a_pinned_field_alone() -> None:
    stored: dict[str, object] = dict.fromkeys((*PERSON_COLUMNS, "account_id", "campaign_id"))
    stored |= {"title": "VP Engineering", "city": "Malmo", "email_opt_in": None, "attributes": {}}
    incoming = parse_person({"email": "g@polar.se", "title": "Engineer", "city": "Lund"})
    kwargs = dict(
        same_address=False,
        address_taken=False,
        account_id=None,
        account_hint_given=False,
        account_why=None,
        campaign_id=None,
    )
    assert person_changes(stored, incoming, pinned=frozenset({"title"}), **kwargs)["city"] == "Lund"  # type: ignore[arg-type]
    assert "title" not in person_changes(stored, incoming, pinned=frozenset({"title"}), **kwargs)  # type: ignore[arg-type]
    assert person_changes(stored, incoming, **kwargs)["title"] == "Engineer"  # type: ignore[arg-type]


def _person(pid: int, updated: datetime, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys((*SURVIVING_FIELDS, *FIRST_WINS, "email", "email_opt_in"))
    return row | {"id": pid, "created_at": T, "updated_at": updated, "attributes": {}} | values


def test_a_manual_value_wins_a_merge_from_either_side() -> None:
    old = _person(1, T, title="VP Engineering")
    new = _person(2, datetime(2026, 11, 2, tzinfo=UTC), title="Engineer", city="Lund")
    values, _ = survive(old, new, sources=("import", "import"), priority=("api",), now=T)
    assert values["title"] == "Engineer"  # the newer record wins without a pin
    values, _ = survive(
        old,
        new,
        sources=("import", "import"),
        priority=("api",),
        now=T,
        pinned=(frozenset({"title"}), frozenset()),
    )
    assert "title" not in values and values["city"] == "Lund"
    values, origin = survive(
        new,
        old,
        sources=("import", "import"),
        priority=("api",),
        now=T,
        pinned=(frozenset(), frozenset({"title"})),
    )
    assert values["title"] == "VP Engineering" and origin["title"] == "merged (set by hand)"


def test_why_an_owner_cannot_take_leads() -> None:
    ok = dict(active=True, role="rep", email="bob@x.io", away_until=None, in_line=True)
    assert owner_refusal(**ok) is None  # type: ignore[arg-type]
    assert "inactive" in (owner_refusal(**ok | {"active": False}) or "")  # type: ignore[arg-type]
    assert "cannot own a lead" in (owner_refusal(**ok | {"role": "partner"}) or "")  # type: ignore[arg-type]
    away = owner_refusal(**ok | {"away_until": datetime(2026, 11, 9, tzinfo=UTC)})  # type: ignore[arg-type]
    assert (
        away
        == "owner_id: bob@x.io is out of office until 2026-11-09 00:00 UTC; choose someone who is in, or wait until they are back"
    )
    assert "not in your teams" in (owner_refusal(**ok | {"in_line": False}) or "")  # type: ignore[arg-type]


def test_the_request_is_bounded_and_needs_a_reason() -> None:
    assert check_request([3, 1, 3], "  cover  for\nAnn ") == ([3, 1], "cover for Ann")
    with pytest.raises(InvalidInput, match="choose at least one lead"):
        check_request([], "x")
    with pytest.raises(InvalidInput, match="at most 1,000 leads"):
        check_request(list(range(1, MAX_LEADS + 2)), "x")
    with pytest.raises(InvalidInput, match="reason: say why"):
        check_request([1], " ")
    with pytest.raises(InvalidInput, match="at most 300 characters"):
        check_request([1], "x" * 301)
