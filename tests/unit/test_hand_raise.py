"""The hand-raise fast track as pure rules: job titles in the demo's languages read into the fit
rules' seniority and department; a form's activity_type taken only when a form may set it; which
activity is a fresh "talk to me"; where it moves a lead; the fastest SLA tier; the model checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadloop.capture.forms import form_activity
from leadloop.capture.model import PersonIn, from_title
from leadloop.contract.titles import MAX_TITLE, ParsedTitle, parse_title
from leadloop.contract.vocab import DEPARTMENTS, SENIORITIES
from leadloop.lifecycle.model import Trigger
from leadloop.routing.document import parse_rules
from leadloop.routing.rules import Facts, sla_policy
from leadloop.scoring.document import ModelDocumentError, parse_model
from leadloop.scoring.hand_raise import fast_track, is_hand_raise, reason
from leadloop.scoring.repository import default_model

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "seniority", "department"),
    [
        ("VP Engineering", "VP", "Engineering"),
        ("Head of IT", "Director", "IT"),
        ("Chief Technology Officer", "C-Level", "Engineering"),
        ("CTO", "C-Level", "Engineering"),
        ("Geschäftsführer", "C-Level", "Executive"),
        ("Geschaeftsfuehrer", None, None),  # spelled without umlauts: not guessed
        ("Leiter Vertrieb", "Director", "Sales"),
        ("Vertriebsleiterin", "Director", "Sales"),
        ("IT-Leiter", "Director", "IT"),
        ("Teamleiter Entwicklung", "Manager", "Engineering"),
        ("Werkstudent Marketing", "Intern", "Marketing"),
        ("Directeur commercial", "Director", "Sales"),
        ("Directeur général", "C-Level", "Executive"),
        ("Chef de projet marketing", "Manager", "Marketing"),
        ("Responsable marketing", "Manager", "Marketing"),
        ("Directora de ventas", "Director", "Sales"),
        ("Jefe de ventas", "Manager", "Sales"),
        ("Gerente de TI", "Manager", "IT"),
        ("Responsabile commerciale", "Manager", "Sales"),
        ("Hoofd Marketing", "Director", "Marketing"),
        ("Försäljningschef", "Director", "Sales"),
        ("VD", "C-Level", "Executive"),
        ("Software Engineer", "Individual Contributor", "Engineering"),
        ("Senior Software Developer", "Individual Contributor", "Engineering"),
        ("Account Executive", "Individual Contributor", "Sales"),
        ("Intern", "Intern", None),
        ("Head of International Sales", "Director", "Sales"),  # "International" is not an intern
        ("Vice President of Sales", "VP", "Sales"),
        ("President & CEO", "C-Level", "Executive"),
        ("Managing Director", "C-Level", "Executive"),
        ("Executive Assistant to the CEO", "Individual Contributor", None),
        ("Personal Assistant", "Individual Contributor", None),
        ("Product Owner", None, "Product"),  # an owner of a backlog, not of the company
        ("Chief of Staff", None, None),
        ("People Operations Manager", "Manager", "HR"),
        ("IT Support Specialist", "Individual Contributor", "IT"),
        ("Customer Success Manager", "Manager", "Customer Success"),
        ("CFO", "C-Level", "Finance"),
        ("", None, None),
        ("!!!", None, None),
    ],
)
def test_titles_read_into_seniority_and_department(
    title: str, seniority: str | None, department: str | None
) -> None:
    assert parse_title(title) == ParsedTitle(seniority, department)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_any_string_gives_a_known_word_or_none(title: str) -> None:
    parsed = parse_title(title)
    assert parsed.seniority is None or parsed.seniority in SENIORITIES
    assert parsed.department is None or parsed.department in DEPARTMENTS


def test_a_huge_title_is_read_only_up_to_its_bound() -> None:
    assert parse_title("x " * 100_000 + "CEO") == ParsedTitle(None, None)
    assert parse_title("CEO " + "x" * 100_000).seniority == "C-Level"
    assert MAX_TITLE == 300


def _stored(**fields: Any) -> dict[str, Any]:
    return {"title": None, "seniority": None, "department": None, **fields}


def test_a_given_seniority_or_department_wins_over_the_title() -> None:
    assert from_title(PersonIn(title="VP Engineering", seniority="Director")) == {"department": "Engineering"}
    assert from_title(PersonIn(title="VP Engineering", department="IT")) == {"seniority": "VP"}
    assert from_title(PersonIn(title="Head of IT")) == {"seniority": "Director", "department": "IT"}
    assert from_title(PersonIn(email="a@b.c")) == {}


def test_a_new_title_replaces_what_the_old_one_said_but_not_what_someone_set() -> None:
    promoted = PersonIn(title="CTO")
    from_old_title = _stored(
        title="Software Engineer", seniority="Individual Contributor", department="Engineering"
    )
    assert from_title(promoted, from_old_title) == {"seniority": "C-Level", "department": "Engineering"}
    set_by_hand = _stored(title="Software Engineer", seniority="Director", department="R&D")
    assert from_title(promoted, set_by_hand) == {}
    unreadable = PersonIn(title="Chief of Staff")
    assert from_title(unreadable, from_old_title) == {"seniority": None, "department": None}
    assert from_title(unreadable, _stored()) == {}


@pytest.mark.parametrize(
    ("given", "kind"),
    [
        (None, "form_submit"),
        ("", "form_submit"),
        ("demo_request", "demo_request"),
        ("Demo Request", "demo_request"),
        ("contact-sales", "contact_sales"),
        ("pricing_request", "pricing_request"),
        ("trial_signup", "trial_signup"),
        ("webinar_registered", "webinar_registered"),
    ],
)
def test_a_form_says_what_it_is(given: str | None, kind: str) -> None:
    assert form_activity(given) == form_activity(given) and form_activity(given).type == kind
    assert form_activity(given).warning is None and form_activity(given).payload == {}


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("demo-requestt", "is not an activity type"),
        ("opportunity_won", "cannot be set by a web form"),
        ("unsubscribe", "cannot be set by a web form"),
        ("x" * 5000, "is not an activity type"),
    ],
)
def test_a_type_a_form_may_not_set_lands_as_a_submission_with_a_warning(given: str, why: str) -> None:
    got = form_activity(given)
    assert got.type == "form_submit" and got.warning is not None and why in got.warning
    assert got.payload["activity_type_given"] == given[:200] and got.payload["warning"] == got.warning
    assert "demo_request" in got.warning and len(got.warning) < 1000


def test_a_hand_raise_is_fresh_listed_and_from_a_contact_no_rule_excluded() -> None:
    model = default_model()
    assert model.hand_raise.types == ["demo_request", "contact_sales", "pricing_request", "trial_signup"]
    yes = {"now": NOW, "excluded_by": None}
    assert is_hand_raise(model, "demo_request", NOW - timedelta(minutes=1), **yes)  # type: ignore[arg-type]
    assert is_hand_raise(model, "trial_signup", NOW - timedelta(days=7), **yes)  # type: ignore[arg-type]
    assert not is_hand_raise(model, "trial_signup", NOW - timedelta(days=7, seconds=1), **yes)  # type: ignore[arg-type]
    assert not is_hand_raise(model, "form_submit", NOW, **yes)  # type: ignore[arg-type]
    assert not is_hand_raise(model, "demo_request", NOW, now=NOW, excluded_by="student")


def test_where_a_hand_raise_takes_a_lead() -> None:
    assert fast_track("inquiry") is Trigger.REACHED_MQL
    assert [fast_track(s) for s in ("nurture", "recycled", "lost")] == [Trigger.REACTIVATED] * 3
    assert [fast_track(s) for s in ("mql", "sal", "sql", "opportunity", "won", "merged")] == [None] * 6
    assert (
        reason("contact_sales", NOW)
        == "Hand-raise: contact sales on 2026-12-01 09:00 UTC — sent to sales at once"
    )


def test_a_hand_raise_gets_the_fastest_sla_tier_whatever_its_conditions() -> None:
    rs = parse_rules(
        "name: r\nfallback: {queue: Sales inbox}\nsla:\n"
        "  - {name: Standard, first_touch_minutes: 240}\n"
        "  - {name: Hot, when: {grade: [A]}, first_touch_minutes: 15}\n"
        "  - {name: Partner, when: {country: [NL]}, first_touch_minutes: 30}\n"
    )
    facts = Facts(grade="D", country="SE")
    policy = sla_policy(rs, facts)
    assert policy is not None and policy.name == "Standard"
    fast = sla_policy(rs, facts, hand_raise="demo_request")
    assert fast is not None and fast.name == "Hot"
    empty = parse_rules("name: r\nfallback: {queue: Sales inbox}\n")
    assert sla_policy(empty, facts, hand_raise="demo_request") is None


def test_the_models_hand_raise_list_is_checked_when_saved() -> None:
    base = "name: m\nhand_raise:\n  types: [demo_request, telepathy, demo_request]\n  fresh_for_days: 0\n"
    with pytest.raises(ModelDocumentError) as info:
        parse_model(base)
    problems = info.value.problems
    assert any(line == 3 and "unknown activity type 'telepathy'" in msg for line, msg in problems)
    assert any("listed twice" in msg for _, msg in problems)
    assert any("fresh_for_days must be positive" in msg and line == 4 for line, msg in problems)
    assert parse_model("name: m\nhand_raise: {types: []}\n").hand_raise.types == []
