"""Direct mail in the app: a person's street through the API (capture, read, edit), the mailing
list as CSV from the sequences page (staff only, audited, marks nothing, `since` for the new ones),
and the report's count."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.settings import Settings
from leadloop.store.tables import AuditEvent, Person
from tests.fixtures.nurture import EVERY_HOUR, sweeper
from tests.fixtures.web import Web, post_lead

CARDS = f"""\
name: cards
version: 1
window: {EVERY_HOUR}
steps:
  - id: card
    direct_mail: {{piece: Spring postcard}}
"""
CSV = "/api/v1/sequences/cards/direct-mail.csv"


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_mailing_list_is_exported_as_csv_to_staff_only(web: Web) -> None:
    api = web.api_client("marketing")
    saved = api.post(
        "/api/v1/sequences/versions", content=CARDS, headers={"content-type": "application/yaml"}
    )
    assert saved.status_code == 201, saved.text
    assert api.post("/api/v1/sequences/versions/1/activate").status_code == 200
    ana = post_lead(
        api,
        email="ana@acme.example",
        first_name="Ana",
        last_name="Silva",
        company="Acme",
        street="=Hauptstraße 12",  # a formula in a spreadsheet: the export keeps it text
        postcode="10115",
        city="Berlin",
        country="Germany",
        activity_type="page_view",
    )["person_id"]
    bo = post_lead(api, email="bo@beta.example", activity_type="page_view")["person_id"]
    assert api.get(f"/api/v1/people/{ana}").json()["person"]["street"] == "=Hauptstraße 12"
    enrolled = api.post("/api/v1/sequences/cards/enrolments", json={"person_ids": [ana, bo]})
    assert enrolled.json()["enrolled"] == 2
    sweeper(web.db, web.clock, Settings()).run_once()

    boss = web.browser_client("marketing")
    page = boss.get("/sequences")
    assert page.context["mailing"] == {"cards": [("Spring postcard", 1)]}  # type: ignore[attr-defined]
    (report,) = page.context["report"]  # type: ignore[attr-defined]
    assert (report.pieces, report.pieces_skipped) == (1, {"no_address": 1})
    assert f'href="{CSV}?piece=Spring%20postcard"' in page.text

    got = boss.get(CSV, params={"piece": "Spring postcard"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert (
        got.headers["content-disposition"]
        == f'attachment; filename="direct-mail-cards-{web.clock():%Y-%m-%d}.csv"'
    )
    header, *rows = _rows(got.content)
    assert header == [
        "name",
        "company",
        "street",
        "postcode",
        "city",
        "state",
        "country",
        "piece",
        "enrolment",
        "listed_at",
    ]
    assert [r[:8] for r in rows] == [
        ["Ana Silva", "Acme", "'=Hauptstraße 12", "10115", "Berlin", "", "DE", "Spring postcard"]
    ]
    assert rows[0][9] == web.clock().isoformat()
    # Reading marks nothing: the same list again, and none listed after a later moment.
    assert _rows(boss.get(CSV).content)[1:] == rows
    later = web.clock().replace(hour=23).isoformat()
    assert _rows(boss.get(CSV, params={"since": later}).content) == [header]
    assert _rows(boss.get(CSV, params={"since": web.clock().date().isoformat()}).content)[1:] == rows
    with web.db.read() as s:
        audited = list(s.scalars(sa.select(AuditEvent.subject).where(AuditEvent.kind == "export")))
    assert audited == ["direct-mail-cards"] * 4

    # An address corrected by hand is the one exported next.
    with web.db.read() as s:
        version = s.get_one(Person, ana).updated_at.isoformat()
    edited = api.patch(f"/api/v1/people/{ana}", json={"updated_at": version, "street": "Unter den Linden 1"})
    assert edited.status_code == 200, edited.text
    assert _rows(boss.get(CSV).content)[1][2] == "Unter den Linden 1"
    person_page = boss.get(f"/people/{ana}")
    assert "Unter den Linden 1, 10115 Berlin, DE" in person_page.text
    edit = boss.get(f"/people/{ana}/edit").context["fields"]  # type: ignore[attr-defined]
    assert ("street", "Street", "Unter den Linden 1") in edit

    # Staff only; a sequence that does not exist and a piece name out of bounds say so.
    assert web.api_client("rep").get(CSV).status_code == 200
    assert web.api_client("partner").get(CSV).status_code == 403
    assert TestClient(web.app).get(CSV).status_code == 401  # nobody signed in
    assert boss.get("/api/v1/sequences/nope/direct-mail.csv").status_code == 404
    assert boss.get(CSV, params={"piece": "x" * 101}).status_code == 422
    assert boss.get(CSV, params={"since": "yesterday"}).status_code == 422


def test_a_rep_exports_only_the_people_they_may_see(web: Web) -> None:
    api = web.api_client("marketing")
    api.post("/api/v1/sequences/versions", content=CARDS, headers={"content-type": "application/yaml"})
    api.post("/api/v1/sequences/versions/1/activate")
    address = {"street": "1 Main St", "postcode": "94105", "city": "San Francisco", "country": "US"}
    pid = post_lead(api, email="cy@acme.example", activity_type="page_view", **address)["person_id"]
    api.post("/api/v1/sequences/cards/enrolments", json={"person_ids": [pid]})
    sweeper(web.db, web.clock, Settings()).run_once()
    assert len(_rows(web.api_client("admin").get(CSV).content)) == 2
    assert len(_rows(web.api_client("rep").get(CSV).content)) == 1  # nobody of theirs: the header only
