"""The JSON API: auth, idempotency, validation messages, batch ingest."""

from __future__ import annotations

from leadloop.store.tables import Activity, Lead, Person
from tests.conftest import count
from tests.fixtures.web import Web


def test_single_lead_creates_person_account_activity_and_lead(web: Web) -> None:
    api = web.api_client()
    r = api.post(
        "/api/v1/leads",
        json={
            "email": "Dana.Scully@FBI.gov",
            "first_name": "Dana",
            "company": "FBI",
            "activity_type": "demo_request",
            "product": "Analytics",
            "utm_campaign": "spring-webinar",
            "message": "Call me",
            "attributes": {"team_size": "40"},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "created" and len(body["lead_ids"]) == 1
    with web.db.read() as s:
        p = s.get_one(Person, body["person_id"])
        assert (p.email, p.attributes) == ("dana.scully@fbi.gov", {"team_size": "40"})
        act = s.get_one(Activity, body["activity_id"])
        assert (act.type, act.product, act.source, act.payload["message"]) == (
            "demo_request",
            "analytics",
            "api",
            "Call me",
        )
        assert s.get_one(Lead, body["lead_ids"][0]).product == "analytics"


def test_idempotency_key_replays_and_refuses_a_different_body(web: Web) -> None:
    api = web.api_client()
    payload = {"email": "a@acme.com", "activity_type": "form_submit"}
    first = api.post("/api/v1/leads", json=payload, headers={"Idempotency-Key": "k-1"})
    web.clock.advance(seconds=30)
    again = api.post("/api/v1/leads", json=payload, headers={"Idempotency-Key": "k-1"})
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(web.db, Activity) == 1
    other = api.post(
        "/api/v1/leads", json={**payload, "first_name": "Changed"}, headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 409 and "different request body" in other.json()["detail"]


def test_external_id_makes_a_retry_an_update(web: Web) -> None:
    api = web.api_client()
    api.post("/api/v1/leads", json={"external_id": "crm-7", "email": "x@acme.com"})
    r = api.post("/api/v1/leads", json={"external_id": "crm-7", "email": "x@acme.com", "title": "CTO"})
    assert r.json()["status"] == "updated"
    assert count(web.db, Person) == 1


def test_malformed_json_is_422_with_a_location(web: Web) -> None:
    api = web.api_client()
    r = api.post(
        "/api/v1/leads", content=b'{"email": "a@b.com",', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = api.post("/api/v1/leads", json={"email": ["not", "a", "string"], "shoe_size": 44})
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert ("body", "email") in locs and ("body", "shoe_size") in locs


def test_invalid_values_get_field_level_messages(web: Web) -> None:
    api = web.api_client()
    r = api.post("/api/v1/leads", json={"email": "nope", "country": "Atlantis", "activity_type": "telepathy"})
    assert r.status_code == 422
    by_field = {e["loc"][-1]: e["msg"] for e in r.json()["detail"]}
    assert "is not valid" in by_field["email"]
    assert "country" not in by_field  # a country we cannot read is kept as typed, never a refusal
    assert "unknown activity type 'telepathy'; known types:" in by_field["activity_type"]
    assert "demo_request" in by_field["activity_type"]
    assert count(web.db, Person) == 0


def test_unknown_activity_type_on_activities_endpoint_lists_types(web: Web) -> None:
    r = web.api_client().post("/api/v1/activities", json={"type": "telepathy", "email": "a@acme.com"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", "type"] and "form_submit" in detail[0]["msg"]


def test_batch_ingest_lands_the_good_and_lists_the_bad(web: Web) -> None:
    api = web.api_client()
    r = api.post(
        "/api/v1/ingest",
        json={
            "people": [
                {"email": "a@acme.com"},
                {"email": "broken"},
                {"email": "b@acme.com", "external_id": "B"},
            ],
            "activities": [
                {
                    "type": "page_view",
                    "email": "a@acme.com",
                    "url": "/pricing",
                    "occurred_at": "2026-10-30T10:00:00Z",
                },
                {"type": "email_click", "person_external_id": "B", "external_id": "click-1"},
                {"type": "nope", "email": "a@acme.com"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["people"]["created"] == 2 and [x["index"] for x in body["people"]["rejected"]] == [1]
    assert body["people"]["rejected"][0]["errors"][0]["loc"] == ["body", "people", 1, "email"]
    assert body["activities"]["created"] == 2 and body["activities"]["rejected"][0]["index"] == 2
    assert body["people"]["ids"][1] is None
    again = api.post(
        "/api/v1/ingest",
        json={"activities": [{"type": "email_click", "person_external_id": "B", "external_id": "click-1"}]},
    )
    assert again.json()["activities"]["unchanged"] == 1


def test_batch_over_the_limit_is_refused(web: Web) -> None:
    r = web.api_client().post(
        "/api/v1/ingest", json={"people": [{"email": f"p{i}@acme.com"} for i in range(5001)]}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "people"]


def test_auth_is_required_and_roles_are_enforced(web: Web) -> None:
    from fastapi.testclient import TestClient

    anon = TestClient(web.app)
    assert anon.post("/api/v1/leads", json={"email": "a@acme.com"}).status_code == 401
    assert anon.get("/api/v1/leads").status_code == 401
    bad = TestClient(web.app, headers={"Authorization": "Bearer ll_nope_nope"})
    assert bad.get("/api/v1/leads").json()["detail"] == "the API key is not valid or was revoked"
    rep = web.api_client("rep")
    r = rep.post("/api/v1/leads", json={"email": "a@acme.com"})
    assert r.status_code == 403 and "needs one of: admin, marketing" in r.json()["detail"]
    assert rep.get("/api/v1/leads").status_code == 200
    assert web.api_client("partner").get("/api/v1/leads").status_code == 403


def test_person_api_returns_the_timeline(web: Web) -> None:
    api = web.api_client()
    pid = api.post("/api/v1/leads", json={"email": "t@acme.com", "activity_type": "webinar_attended"}).json()[
        "person_id"
    ]
    body = api.get(f"/api/v1/people/{pid}").json()
    assert body["person"]["email"] == "t@acme.com" and body["timeline"][0]["type"] == "webinar_attended"
    assert api.get("/api/v1/people/999999").status_code == 404


def test_openapi_is_served_and_docs_need_login(web: Web) -> None:
    api = web.api_client()
    spec = api.get("/api/openapi.json").json()
    assert "/api/v1/leads" in spec["paths"] and "/api/v1/ingest" in spec["paths"]
    docs = web.browser_client("rep").get("/docs")
    assert (
        docs.status_code == 200
        and "/static/vendor/swagger-ui-bundle" in docs.text
        and "cdn" not in docs.text.lower()
    )
