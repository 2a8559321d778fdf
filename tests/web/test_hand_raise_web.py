"""The public form says what it is (hidden activity_type), an unknown type is a plain submission
with a warning and never a refusal, its source shows on the activity, and the lead page says why a
hand-raised lead went to sales at once."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.store.tables import Activity, Lead, Person, User
from tests.fixtures.routing import ALL_WEEK, activate_rules
from tests.fixtures.web import Web

GRETA = {
    "name": "Greta Lindqvist",
    "email": "greta.lindqvist@polarsignal.se",
    "title": "VP Engineering",
    "company": "Polar Signal AB",
}


def test_an_unknown_activity_type_is_a_form_submission_with_a_warning(web: Web) -> None:
    r = TestClient(web.app).post("/forms/lead", data={**GRETA, "activity_type": "opportunity_won"})
    assert r.status_code == 200 and r.template.name == "form_result.html" and r.context["ok"]  # type: ignore[attr-defined]
    with web.db.read() as s:
        act = s.scalars(sa.select(Activity).where(Activity.source == "form")).one()
        assert act.type == "form_submit" and act.payload["activity_type_given"] == "opportunity_won"
        assert "cannot be set by a web form" in act.payload["warning"]
        person = s.scalars(sa.select(Person)).one()
        assert not {"activity_type", "unusable_activity_type"} & set(person.attributes)
        assert s.scalar(sa.select(sa.func.count()).select_from(Lead)) == 1  # 20 points opened it; no MQL
        assert s.scalar(sa.select(Lead.stage)) == "inquiry"


def test_the_form_type_and_source_land_on_the_activity_not_on_the_person(web: Web) -> None:
    r = TestClient(web.app).post(
        "/forms/lead",
        data={**GRETA, "activity_type": "Contact sales", "source": "website", "campaign": "Nordics Q4"},
    )
    assert r.status_code == 200 and r.context["ok"]  # type: ignore[attr-defined]
    with web.db.read() as s:
        act = s.scalars(sa.select(Activity).where(Activity.source == "form")).one()
        assert (act.type, act.payload["source"], act.campaign_id is not None) == (
            "contact_sales",
            "website",
            True,
        )
        person = s.scalars(sa.select(Person)).one()
        assert (person.lead_source, person.seniority, person.department) == ("website", "VP", "Engineering")
        assert "activity_type" not in person.attributes and "source" not in person.attributes


def test_the_forms_page_shows_activity_type_as_a_field(web: Web) -> None:
    client = web.browser_client("marketing")
    r = client.post(
        "/forms/mappings", data={"action": "try", "sample": "email: a@acme.com\nactivity_type: demo_request"}
    )
    becomes = {b["posted"]: b["field"] for b in r.context["tried"]["becomes"]}  # type: ignore[attr-defined]
    assert becomes == {"email": "email", "activity_type": "activity_type"}


def test_the_lead_page_says_why_a_hand_raiser_went_to_sales(web: Web) -> None:
    client = web.browser_client("rep")
    with web.db.write() as s:
        rep = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        rep.working_hours = ALL_WEEK
        activate_rules(
            s,
            "name: r\nfallback: {queue: Sales inbox}\nrules:\n  - {name: All, assign: {user: rep-web@test.example}}\n"
            "sla:\n  - {name: Hot, when: {grade: [A]}, first_touch_minutes: 15}\n"
            "  - {name: Standard, first_touch_minutes: 240}\n",
            now=web.clock(),
        )
    r = TestClient(web.app).post("/forms/lead", data={**GRETA, "activity_type": "demo_request"})
    assert r.status_code == 200
    with web.db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        assert (lead.stage, lead.owner_user_id, lead.sla_policy) == ("mql", rep.id, "Hot")
    page = client.get(f"/leads/{lead.id}")
    assert page.status_code == 200 and page.template.name == "lead.html"  # type: ignore[attr-defined]
    when = f"{web.clock():%Y-%m-%d %H:%M} UTC"
    assert page.context["score"].mql_reason == f"Hand-raise: demo request on {when} — sent to sales at once"  # type: ignore[attr-defined]
    routed = page.context["trail"][-1]  # type: ignore[attr-defined]
    assert (
        routed["summary"].startswith("hand-raise (demo request) · ")
        and routed["owner"] == "rep-web@test.example"
    )
    assert routed["path"][0]["why"] == "demo request: the fastest SLA tier, Hot (15 min to first touch)"
    assert "sent to sales at once" in page.text
