"""Bounded input everywhere: what a security probe reproduced, each now refused with a sentence
and nothing stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from leadloop.store.tables import Activity, Person
from tests.conftest import count
from tests.fixtures.web import Web
from tests.web.test_web_to_lead import FORM

BIG = 2**63


def test_the_form_refuses_a_huge_body_before_reading_it(web: Web) -> None:
    extras = {f"x{i}": "a" * 60_000 for i in range(900)}
    r = TestClient(web.app).post("/forms/lead", data={**FORM, **extras})
    assert r.status_code == 413 and "larger than 65,536 bytes" in r.text
    assert count(web.db, Person) == 0


def test_the_form_keeps_a_few_custom_fields_and_refuses_more(
    web: Web, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TestClient(web.app)
    r = client.post("/forms/lead", data={**FORM, **{f"x{i}": "v" for i in range(25)}})
    assert r.status_code == 422 and "the limit is 20" in " ".join(r.context["errors"])  # type: ignore[attr-defined]
    assert count(web.db, Person) == 0 and '"form.refused"' in capsys.readouterr().err
    long_one = client.post("/forms/lead", data={**FORM, "notes": "n" * 1_001})
    assert long_one.status_code == 422 and count(web.db, Person) == 0
    ok = client.post("/forms/lead", data={**FORM, **{f"x{i}": "v" for i in range(19)}})
    assert ok.status_code == 200 and count(web.db, Person) == 1


def test_a_json_body_over_the_limit_is_refused_by_its_length_or_as_it_streams(make_web) -> None:  # type: ignore[no-untyped-def]
    web: Web = make_web(max_body_bytes=4096)
    api = web.api_client("marketing")
    body = json.dumps({"email": "a@acme.com", "message": "m" * 10_000}).encode()
    r = api.post("/api/v1/leads", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than 4,096 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted as they come
        yield body[:3000]
        yield body[3000:]

    r = api.post("/api/v1/leads", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and count(web.db, Person) == 0


def test_custom_attributes_through_the_api_are_bounded(web: Web) -> None:
    api = web.api_client("marketing")
    many = api.post(
        "/api/v1/leads", json={"email": "a@acme.com", "attributes": {f"k{i}": "v" for i in range(100_000)}}
    )
    assert many.status_code == 422
    some = api.post(
        "/api/v1/leads", json={"email": "a@acme.com", "attributes": {f"k{i}": "v" for i in range(21)}}
    )
    assert some.status_code == 422 and "the limit is 20" in some.json()["detail"][0]["msg"]
    batch = api.post(
        "/api/v1/ingest",
        json={
            "people": [
                {"email": "b@acme.com", "attributes": {f"k{i}": "v" for i in range(21)}},
                {"email": "c@acme.com"},
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    assert [r["index"] for r in batch.json()["people"]["rejected"]] == [0]
    assert count(web.db, Person) == 1


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/leads/{BIG}",
        f"/api/v1/people/{BIG}",
        f"/api/v1/leads?page={BIG}",
        f"/api/v1/leads?per_page={BIG}",
        f"/api/v1/merges?person_id={BIG}",
        f"/api/v1/reports/sla?days={BIG}",
        f"/api/v1/scoring/models/{2**31}",
    ],
)
def test_ids_and_paging_out_of_range_are_a_422_not_a_500(web: Web, url: str) -> None:
    r = web.api_client("admin").get(url)
    assert r.status_code == 422 and r.json()["detail"][0]["type"].startswith("less_than")


def test_nul_bytes_and_lone_surrogates_are_refused_naming_the_field(web: Web) -> None:
    api = web.api_client("marketing")
    r = api.post("/api/v1/leads", json={"email": "a@acme.com", "first_name": "Da\x00na"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "first_name"] and "NUL" in r.json()["detail"][0]["msg"]
    r = api.post(
        "/api/v1/leads",
        content=b'{"email": "a@acme.com", "attributes": {"k": "\\ud800"}}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "attributes", "k"]
    r = api.get("/api/v1/leads", params={"q": "a\x00b"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "q"]
    browser = TestClient(web.app, headers={"Accept": "text/html"})
    form = browser.post("/forms/lead", data={**FORM, "company": "Big\x00Co"})
    assert form.status_code == 422 and "company: contains a NUL byte" in form.text
    assert count(web.db, Person) == 0 and count(web.db, Activity) == 0


@pytest.mark.parametrize("levels", [500, 100_000])
def test_json_nested_too_deep_is_a_422_that_says_so(web: Web, levels: int) -> None:
    deep = (
        '{"type": "page_view", "email": "a@acme.com", "payload": {"a": ' + "[" * levels + "]" * levels + "}}"
    )
    r = web.api_client("marketing").post(
        "/api/v1/activities", content=deep.encode(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422 and "nested more than 32 levels deep" in json.dumps(r.json())


def test_yaml_nested_too_deep_is_a_422_that_says_so(web: Web) -> None:
    doc = "name: deep\nfallback: " + "[" * 5_000 + "]" * 5_000
    r = web.api_client("admin").post(
        "/api/v1/routing/rulesets", content=doc.encode(), headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 422 and "nested more than 32 levels deep" in r.json()["detail"]


def test_a_405_names_every_method_the_path_allows(web: Web) -> None:
    r = web.api_client("admin").delete("/api/v1/leads")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) >= {"GET", "POST"}


def test_the_spec_documents_the_errors_with_one_shape(web: Web) -> None:
    spec = web.app.openapi()
    lead = spec["paths"]["/api/v1/leads/{lead_id}"]["get"]
    assert {"401", "403", "404", "422"} <= set(lead["responses"])
    assert lead["parameters"][0]["schema"]["maximum"] == 2**31 - 1
    create = spec["paths"]["/api/v1/leads"]["post"]["responses"]
    assert {"400", "409", "413", "422"} <= set(create)
    assert create["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    detail = spec["components"]["schemas"]["ErrorBody"]["properties"]["detail"]
    assert {"type": "string"} in detail["anyOf"]
