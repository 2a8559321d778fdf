"""Sequences in the browser and the API: a bad document comes back with its lines, the what-if
fragment, enrolling one person from their page and many through the API, stopping an enrolment,
the report; only marketing and admins enrol."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.store.tables import Lead, Person
from tests.fixtures.nurture import EVERY_HOUR
from tests.fixtures.web import Web, post_lead

GOOD = f"""\
name: welcome
version: 1
triggers: {{inquiry: true}}
window: {EVERY_HOUR}
sender: {{name: Priya Patel, email: priya@ourco.io}}
steps:
  - id: hello
    email: {{subject: "Hello {{{{ first_name | default('there') }}}}", text: Hi.}}
"""


def test_a_bad_sequence_is_refused_with_its_lines_and_a_good_one_is_tried_saved_and_activated(
    web: Web,
) -> None:
    boss = web.browser_client("marketing")
    bad = GOOD.replace("text: Hi.", "text: '{{ shoe_size }}'") + "  - wait: {days: -1}\n"
    refused = boss.post("/sequences/versions", data={"document": bad})
    assert refused.status_code == 422 and refused.template.name == "sequences.html"  # type: ignore[attr-defined]
    problems = refused.context["problems"]  # type: ignore[attr-defined]
    assert [line for line, _ in problems] == [8, 9]
    assert "unknown variable 'shoe_size'" in problems[0][1] and "a wait of -1 days" in problems[1][1]
    tried = boss.post("/sequences/preview", data={"document": GOOD})
    assert tried.status_code == 200 and tried.template.name == "_document_preview.html"  # type: ignore[attr-defined]
    assert tried.context["summary"]["entering"] == 0  # type: ignore[attr-defined]
    saved = boss.post("/sequences/versions", data={"document": GOOD}, follow_redirects=False)
    assert saved.status_code == 303
    doc_id = int(saved.headers["location"].rsplit("/", 1)[1])
    assert boss.post(f"/sequences/versions/{doc_id}/activate", follow_redirects=False).status_code == 303
    page = boss.get("/sequences")
    assert [r.sequence for r in page.context["report"]] == ["welcome"]  # type: ignore[attr-defined]


def test_enrol_from_the_person_page_and_through_the_api_and_stop(web: Web) -> None:
    api = web.api_client("marketing")
    assert (
        api.post(
            "/api/v1/sequences/versions", content=GOOD, headers={"content-type": "application/yaml"}
        ).status_code
        == 201
    )
    assert api.post("/api/v1/sequences/versions/1/activate").status_code == 200
    ana = post_lead(api, email="ana@acme.example", first_name="Ana", activity_type="page_view")
    bo = post_lead(api, email="bo@beta.example", activity_type="page_view")
    pid, other = ana["person_id"], bo["person_id"]
    boss = web.browser_client("marketing")
    section = boss.get(f"/people/{pid}/sequences")
    assert section.template.name == "_person_sequences.html"  # type: ignore[attr-defined]
    assert section.context["sequences"] == ["welcome"] and section.context["may_enrol"] is True  # type: ignore[attr-defined]
    done = boss.post(f"/people/{pid}/sequences", data={"sequence": "welcome"}, headers={"HX-Request": "true"})
    assert done.context["message"] == "Enrolled in welcome."  # type: ignore[attr-defined]
    (row,) = done.context["enrolments"]  # type: ignore[attr-defined]
    assert (row.sequence, row.state, row.trigger) == ("welcome", "active", "manual")
    again = boss.post(
        f"/people/{pid}/sequences", data={"sequence": "welcome"}, headers={"HX-Request": "true"}
    )
    assert again.context["message"] == "Not enrolled in welcome: already in this sequence."  # type: ignore[attr-defined]
    bulk = api.post("/api/v1/sequences/welcome/enrolments", json={"person_ids": [pid, other, 999999]})
    assert bulk.status_code == 201
    body = bulk.json()
    assert body["enrolled"] == 1 and {r["why"] for r in body["refused"]} == {
        "already in this sequence",
        "there is no such person",
    }
    assert api.post("/api/v1/sequences/nope/enrolments", json={"person_ids": [pid]}).status_code == 404
    listed = api.get(f"/api/v1/people/{pid}/enrolments").json()
    stopped = boss.post(f"/enrolments/{listed[0]['id']}/exit", headers={"HX-Request": "true"})
    assert stopped.context["message"] == "Stopped welcome."  # type: ignore[attr-defined]
    assert api.get(f"/api/v1/people/{pid}/enrolments").json()[0]["exit_reason"] == "manual"
    assert api.post(f"/api/v1/enrolments/{listed[0]['id']}/exit").status_code == 422  # already ended
    report = {r["sequence"]: r for r in api.get("/api/v1/sequences/report").json()}
    assert (report["welcome"]["enrolled"], report["welcome"]["exited"]) == (2, {"manual": 1})


def test_a_rep_sees_enrolments_but_cannot_enrol(web: Web) -> None:
    api = web.api_client("marketing")
    api.post("/api/v1/sequences/versions", content=GOOD, headers={"content-type": "application/yaml"})
    api.post("/api/v1/sequences/versions/1/activate")
    pid = post_lead(api, email="cy@acme.example", activity_type="page_view")["person_id"]
    rep = web.browser_client("admin")  # an admin sees everyone; a rep's scope is tested by access/
    assert rep.get(f"/people/{pid}/sequences").status_code == 200
    rep_api = web.api_client("rep")
    assert rep_api.post("/api/v1/sequences/welcome/enrolments", json={"person_ids": [pid]}).status_code == 403
    seller = web.browser_client("rep")
    assert seller.post(f"/people/{pid}/sequences", data={"sequence": "welcome"}).status_code in (403, 404)


def test_the_enrol_api_takes_a_lead_only_on_the_persons_account(web: Web) -> None:
    api = web.api_client("marketing")
    api.post("/api/v1/sequences/versions", content=GOOD, headers={"content-type": "application/yaml"})
    api.post("/api/v1/sequences/versions/1/activate")
    ana = post_lead(api, email="ana@acme.example", activity_type="demo_request")
    bo = post_lead(api, email="bo@beta.example", activity_type="demo_request")
    with web.db.read() as s:
        beta_lead = s.scalar(
            sa.select(Lead.id)
            .join(Person, Person.account_id == Lead.account_id)
            .where(Person.id == bo["person_id"])
        )
    r = api.post(
        "/api/v1/sequences/welcome/enrolments", json={"person_ids": [ana["person_id"]], "lead_id": beta_lead}
    )
    assert r.status_code == 422 and "is not on the account of person" in r.json()["detail"]
    ok = api.post(
        "/api/v1/sequences/welcome/enrolments", json={"person_ids": [bo["person_id"]], "lead_id": beta_lead}
    )
    assert ok.status_code == 201 and ok.json()["enrolled"] == 1
