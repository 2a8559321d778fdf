"""The public web-to-lead form: capture, honeypot, rate limit, safe redirects, clear errors."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.store.tables import Activity, Campaign, Lead, Person
from tests.conftest import count
from tests.fixtures.web import Web

FORM = {
    "email": "visitor@bigco.com",
    "first_name": "Vic",
    "last_name": "Visitor",
    "company": "BigCo",
    "product": "automation",
    "campaign": "Spring Promo",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "spring-promo",
    "email_opt_in": "on",
    "message": "Please call",
    "visitor_id": "cookie-123",
    "how_did_you_hear": "podcast",
}


def test_form_captures_person_activity_campaign_and_lead(web: Web) -> None:
    r = TestClient(web.app).post("/forms/lead", data=FORM)
    assert r.status_code == 200 and r.template.name == "form_result.html" and r.context["ok"]  # type: ignore[attr-defined]
    with web.db.read() as s:
        p = s.scalars(sa.select(Person)).one()
        assert (p.email, p.email_opt_in, p.attributes["how_did_you_hear"]) == (
            "visitor@bigco.com",
            True,
            "podcast",
        )
        act = s.scalars(sa.select(Activity).where(Activity.type == "form_submit")).one()
        assert (act.source, act.visitor_id, act.payload["utm_source"], act.payload["message"]) == (
            "form",
            "cookie-123",
            "google",
            "Please call",
        )
        assert s.get_one(Campaign, act.campaign_id).name == "spring-promo"
        assert s.scalars(sa.select(Lead)).one().product == "automation"


def test_a_ticked_consent_on_a_form_restores_opt_in(web: Web) -> None:
    api = web.api_client()
    api.post("/api/v1/leads", json={"email": "visitor@bigco.com", "email_opt_in": False})
    TestClient(web.app).post("/forms/lead", data=FORM)
    with web.db.read() as s:
        assert s.scalar(sa.select(Person.email_opt_in)) is True


def test_honeypot_is_accepted_silently_and_dropped(web: Web) -> None:
    r = TestClient(web.app).post("/forms/lead", data={**FORM, "hp_email_confirm": "bot@spam.com"})
    assert r.status_code == 200 and r.context["ok"]  # type: ignore[attr-defined]
    assert count(web.db, Person) == 0 and count(web.db, Activity) == 0


def test_rate_limit_per_ip_with_retry_after(make_web) -> None:  # type: ignore[no-untyped-def]
    web = make_web(form_burst=3, form_rate_per_minute=1)
    client = TestClient(web.app)
    codes = [
        client.post("/forms/lead", data={**FORM, "email": f"v{i}@bigco.com"}).status_code for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    r = client.post("/forms/lead", data=FORM)
    assert int(r.headers["retry-after"]) >= 1 and "Too many submissions" in r.text
    assert count(web.db, Person) == 3


def test_redirects_back_to_the_posting_site_only(web: Web) -> None:
    client = TestClient(web.app)
    ok = client.post(
        "/forms/lead",
        data={**FORM, "return_url": "https://www.bigco-site.com/thanks"},
        headers={"origin": "https://www.bigco-site.com"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "https://www.bigco-site.com/thanks"
    evil = client.post(
        "/forms/lead",
        data={**FORM, "email": "v2@bigco.com", "return_url": "https://evil.example/phish"},
        headers={"origin": "https://www.bigco-site.com"},
        follow_redirects=False,
    )
    assert evil.status_code == 200 and evil.context["ok"]  # type: ignore[attr-defined]
    js = client.post(
        "/forms/lead",
        data={**FORM, "email": "v3@bigco.com", "return_url": "javascript:alert(1)"},
        follow_redirects=False,
    )
    assert js.status_code == 200


def test_allowed_redirect_hosts_setting(make_web) -> None:  # type: ignore[no-untyped-def]
    web = make_web(form_allowed_redirect_hosts=["landing.example"])
    r = TestClient(web.app).post(
        "/forms/lead", data={**FORM, "return_url": "https://landing.example/ok"}, follow_redirects=False
    )
    assert r.status_code == 303


def test_bad_form_input_gets_a_readable_page_and_nothing_is_written(web: Web) -> None:
    r = TestClient(web.app).post("/forms/lead", data={"email": "not-an-email", "country": "Narnia"})
    assert r.status_code == 422
    errors = r.context["errors"]  # type: ignore[attr-defined]
    assert any(e.startswith("email:") for e in errors)
    assert not any(e.startswith("country:") for e in errors)  # kept as typed, never a reason to refuse
    assert count(web.db, Person) == 0


def test_form_needs_no_login_and_no_csrf(web: Web) -> None:
    r = TestClient(web.app).post(
        "/forms/lead", data={"email": "x@y.com"}, headers={"origin": "https://elsewhere.example"}
    )
    assert r.status_code == 200


def test_forms_as_sites_have_them_land_as_people(web: Web) -> None:
    """Contact Form 7 and a HubSpot/Webflow style form, posted as they are: no 422, no lost lead."""
    client = TestClient(web.app)
    cf7 = {
        "your-name": "Ann Lee",
        "your-email": "ann@acme.com",
        "your-subject": "Demo",
        "your-message": "Call me",
    }
    assert client.post("/forms/lead", data=cf7, follow_redirects=False).status_code in (200, 303)
    webflow = {"Email": "bo@acme.com", "FirstName": "Bo", "LastName": "Berg", "Company": "Acme Corp"}
    assert client.post("/forms/lead", data=webflow, follow_redirects=False).status_code in (200, 303)
    with web.db.read() as s:
        people = {p.email: p for p in s.scalars(sa.select(Person))}
        ann, bo = people["ann@acme.com"], people["bo@acme.com"]
        assert (ann.first_name, ann.last_name) == ("Ann", "Lee")
        assert (bo.first_name, bo.last_name, bo.company) == ("Bo", "Berg", "Acme Corp")
        message = s.scalar(sa.select(Activity.payload).where(Activity.person_id == ann.id))
        assert message is not None and message["message"] == "Call me"


def test_a_field_we_cannot_use_never_loses_a_lead_with_a_valid_email(web: Web) -> None:
    r = TestClient(web.app).post(
        "/forms/lead",
        data={"email": "cy@acme.com", "phone": "n/a", "country": "Narnia", "activity_type": "made_up"},
        follow_redirects=False,
    )
    assert r.status_code in (200, 303), r.text
    with web.db.read() as s:
        person = s.scalars(sa.select(Person).where(Person.email == "cy@acme.com")).one()
        assert person.phone is None and person.country is None
        assert person.attributes["country_raw"] == "Narnia"  # kept as typed, beside the person
        assert "_warnings" not in person.attributes
        assert s.scalar(sa.select(Activity.type).where(Activity.person_id == person.id)) == "form_submit"


def test_a_saved_mapping_teaches_one_form_its_names_and_a_sample_shows_what_happens(web: Web) -> None:
    api = web.api_client("marketing")
    odd = {"form_id": "gf-3", "input_1": "Dee Dunn", "input_2": "dee@acme.com", "input_9": "radio ad"}
    tried = api.post("/api/v1/form-mappings/try", json={"form_key": "gf-3", "fields": odd}).json()
    assert tried["lead"] == {"email": "dee@acme.com"}  # the e-mail is found even unmapped
    bad = api.put("/api/v1/form-mappings", json={"form_key": "gf-3", "mapping": {"input_1": "nickname"}})
    assert bad.status_code == 422 and "unknown target field: input_1 -> nickname" in bad.json()["detail"]
    saved = api.put(
        "/api/v1/form-mappings",
        json={"form_key": "gf-3", "mapping": {"input_1": "name", "input_2": "email", "input_9": "-"}},
    )
    assert saved.status_code == 200
    tried = api.post("/api/v1/form-mappings/try", json={"form_key": "gf-3", "fields": odd}).json()
    assert tried["lead"] == {"first_name": "Dee", "last_name": "Dunn", "email": "dee@acme.com"}
    assert {b["posted"]: b["what"] for b in tried["becomes"]}["input_9"] == "ignored"
    with web.db.read() as s:
        assert count(web.db, Person) == 0  # trying stores nothing
    r = TestClient(web.app).post("/forms/lead", data=odd, follow_redirects=False)
    assert r.status_code in (200, 303)
    with web.db.read() as s:
        dee = s.scalars(sa.select(Person).where(Person.email == "dee@acme.com")).one()
        assert (dee.first_name, dee.last_name) == ("Dee", "Dunn") and "input_9" not in dee.attributes
    page = web.browser_client("marketing").post(
        "/forms/mappings",
        data={"form_key": "gf-3", "sample": "input_1: Ed Eve\ninput_2: ed@acme.com", "action": "try"},
    )
    assert page.status_code == 200 and page.context["tried"]["lead"]["first_name"] == "Ed"  # type: ignore[attr-defined]


def test_with_the_form_lane_running_the_answer_waits_for_the_landing(make_web: Any) -> None:
    web = make_web(form_answer_ms=60_000)
    with TestClient(web.app) as client:  # the app's lifespan starts the lane
        assert web.app.state.form_lane.running
        r = client.post("/forms/lead", data=FORM)
        assert r.status_code == 200 and r.headers["Leadloop-Intake"] == "done"
        assert count(web.db, Person) == 1
    assert not web.app.state.form_lane.running


def test_an_answer_that_cannot_wait_says_waiting_and_the_lead_lands_after(make_web: Any) -> None:
    web = make_web(form_answer_ms=0)
    with TestClient(web.app) as client:
        r = client.post("/forms/lead", data=FORM)
        assert r.status_code == 200 and r.context["ok"]  # type: ignore[attr-defined]
        assert r.headers["Leadloop-Intake"] in ("waiting", "done")
    # Stopping the lane lands what waits: a graceful shutdown loses nothing.
    assert count(web.db, Person) == 1
    assert web.app.state.form_lane.spool.waiting() == 0
