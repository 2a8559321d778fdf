"""Segment pages by template and context: the builder's live count and its refusals (unknown field,
bad operator, negative window, bad YAML), save and the page's figures, the members' CSV, the list
filters, the API's 422 with where, and who may build."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.store.tables import AuditEvent, Person, Segment, SegmentMember
from tests.fixtures.web import Web, post_lead

GERMANS = {"match": {"field": "person.country", "op": "=", "value": "DE"}}


def _people(web: Web, api: TestClient | None = None) -> None:
    api = api or web.api_client("marketing")
    for email, country in (("anna@acme.de", "DE"), ("bert@bmw.de", "DE"), ("cleo@orange.fr", "FR")):
        post_lead(api, email=email, country=country, company=email.split("@")[1])


def _row(**fields: str) -> dict[str, str]:
    """The builder's form for one condition."""
    return {"mode": "builder", "combine": "all", **{f"{k}-0": v for k, v in fields.items()}}


def test_the_builder_counts_as_you_choose_and_says_what_is_wrong(web: Web) -> None:
    _people(web)
    client = web.browser_client("marketing")
    page = client.get("/segments/new")
    assert page.status_code == 200 and page.template.name == "segment_edit.html"  # type: ignore[attr-defined]
    r = client.post("/segments/count", data=_row(field="person.country", op="=", value="de"))
    assert r.template.name == "_segment_count.html"  # type: ignore[attr-defined]
    assert r.context["count"] == 2 and not r.context["draft"].problems  # type: ignore[attr-defined]
    refusals = {
        "unknown field": (_row(field="person.colour", op="=", value="red"), "unknown field 'person.colour'"),
        "bad operator": (
            _row(field="fit", op="contains", value="5"),
            "operator 'contains' does not apply to fit",
        ),
        "negative window": (
            _row(field="did", op="at_least", value="pricing_page_view", count="2", days="-3"),
            "a window of -3 days is not possible",
        ),
        "not a number": (_row(field="fit", op=">=", value="lots"), "expected a number"),
        "nothing chosen": (
            {"mode": "builder", "combine": "all", "field-0": ""},
            "choose what the first condition",
        ),
    }
    for what, (form, words) in refusals.items():
        r = client.post("/segments/count", data=form)
        draft = r.context["draft"]  # type: ignore[attr-defined]
        assert r.context["count"] is None, what  # type: ignore[attr-defined]
        assert [p.row for p in draft.problems] == [0], what
        assert words in draft.problems[0].message, (what, draft.problems)
    bad_yaml = client.post(
        "/segments/count",
        data={"mode": "document", "document": "match:\n  all:\n    - did: pricing_page_viw\n"},
    )
    problems = bad_yaml.context["draft"].problems  # type: ignore[attr-defined]
    assert [(p.line, "did you mean pricing_page_view" in p.message) for p in problems] == [(3, True)]


def test_the_builder_adds_removes_and_changes_rows_on_the_server(web: Web) -> None:
    client = web.browser_client("marketing")
    r = client.post("/segments/builder?add=1", data=_row(field="person.country", op="=", value="DE"))
    assert r.template.name == "_segment_builder.html"  # type: ignore[attr-defined]
    rows = r.context["draft"].builder.rows  # type: ignore[attr-defined]
    assert [x.field for x in rows] == ["person.country", ""]
    # A field whose operators differ: the operator is reset to one that fits.
    r = client.post("/segments/builder", data=_row(field="fit", op="contains", value="x"))
    assert r.context["draft"].builder.rows[0].op == "="  # type: ignore[attr-defined]
    r = client.post("/segments/builder?remove=0", data=_row(field="fit", op=">=", value="5"))
    assert [x.field for x in r.context["draft"].builder.rows] == [""]  # type: ignore[attr-defined]


def test_save_builds_it_and_the_page_shows_size_members_and_history(web: Web) -> None:
    _people(web)
    client = web.browser_client("marketing")
    form = {**_row(field="person.country", op="in", value="DE, AT"), "name": "DACH", "action": "save"}
    r = client.post("/segments", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    ctx = page.context  # type: ignore[attr-defined]
    assert page.template.name == "segment.html" and ctx["row"].size == 2 and ctx["row"].built_at is not None  # type: ignore[attr-defined]
    assert {m.email for m in ctx["members"]} == {"anna@acme.de", "bert@bmw.de"}
    assert [c.entered for c in ctx["changes"]] == [True, True]
    segment_id = ctx["row"].id
    listing = client.get("/segments")
    assert [r.id for r in listing.context["rows"]] == [segment_id]  # type: ignore[attr-defined]
    # The same name again is refused, the form kept as typed.
    again = client.post("/segments", data=form)
    assert again.status_code == 409
    assert "exists already" in again.context["error"]  # type: ignore[attr-defined]
    # The target list, audited.
    exported = client.get(f"/segments/{segment_id}/members.csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["person_id", "external_id", "email"]
    assert sorted(r[2] for r in rows[1:]) == ["anna@acme.de", "bert@bmw.de"]
    with web.db.read() as s:
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.kind == "export"))
            == 1
        )
    # The lists filter by it.
    people = client.get(f"/people?segment={segment_id}")
    assert {p.email for p in people.context["listing"].rows} == {"anna@acme.de", "bert@bmw.de"}  # type: ignore[attr-defined]
    assert client.get("/people?segment=").status_code == 200
    assert client.get("/leads?segment=").status_code == 200
    assert client.get(f"/accounts?segment={segment_id}").context["listing"].paging.total == 2  # type: ignore[attr-defined]


def test_a_refused_save_keeps_what_was_typed_and_saves_nothing(web: Web) -> None:
    client = web.browser_client("marketing")
    form = {
        **_row(field="did", op="at_least", value="pricing_page_view", count="2", days="-1"),
        "name": "Bad",
        "action": "save",
    }
    r = client.post("/segments", data=form)
    assert r.status_code == 422 and r.template.name == "segment_edit.html"  # type: ignore[attr-defined]
    assert r.context["name"] == "Bad" and r.context["draft"].builder.rows[0].days == "-1"  # type: ignore[attr-defined]
    with web.db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Segment)) == 0
    switched = client.post(
        "/segments", data={**_row(field="fit", op=">=", value="50"), "action": "to_document"}
    )
    assert switched.context["draft"].mode == "document" and "fit" in switched.context["draft"].text  # type: ignore[attr-defined]


def test_the_api_refuses_with_where_and_reps_may_not_build(web: Web) -> None:
    api = web.api_client("marketing")
    _people(web, api)
    bad = api.post(
        "/api/v1/segments",
        json={
            "name": "Bad",
            "definition": {"match": {"all": [{"field": "fit", "op": ">=", "value": 50}, {"did": "x"}]}},
        },
    )
    assert bad.status_code == 422
    assert [p["message"].split(":")[0] for p in bad.json()["problems"]] == ["match.all[1].did"]
    ok = api.post("/api/v1/segments", json={"name": "Germans", "definition": GERMANS})
    assert ok.status_code == 201 and ok.json()["size"] == 2
    assert api.post("/api/v1/segments/count", json={"definition": GERMANS}).json()["count"] == 2
    rep: TestClient = web.api_client("rep")
    assert rep.post("/api/v1/segments", json={"name": "Mine", "definition": GERMANS}).status_code == 403
    assert rep.get(f"/api/v1/segments/{ok.json()['id']}").status_code == 200
    # A new lead from Germany joins in the request that captured it.
    post_lead(api, email="dora@sap.de", country="DE", company="SAP")
    with web.db.read() as s:
        dora = s.scalar(sa.select(Person.id).where(Person.email == "dora@sap.de"))
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(SegmentMember).where(SegmentMember.person_id == dora)
            )
            == 1
        )
