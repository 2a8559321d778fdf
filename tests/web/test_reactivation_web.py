"""The lead page's Journey (issue 14, item 6): every move of a lead in words, from its opening to
its rejection with the reason and its reactivation by an activity after so many days; and a
rejected lead is gone from its rep's inbox until a hand-raise brings it back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.routing.handlers import reject
from leadloop.store.tables import Lead, User
from tests.fixtures.routing import ALL_WEEK, activate_rules
from tests.fixtures.web import PASSWORD, Web, csrf_from

REP = "rep-web@test.example"


def _act(web: Web, kind: str, at: datetime) -> None:
    web.clock.at = at
    row = {
        "email": "jane.roe@acme.example",
        "type": kind,
        "occurred_at": (at - timedelta(minutes=1)).isoformat(),
    }
    with web.db.write() as s:
        h.ingest_activities(s, [m.parse_activity(row, now=at)], now=at, source="api")


def _signed_in(web: Web) -> TestClient:
    client = TestClient(web.app)
    token = csrf_from(client.get("/login").text)
    r = client.post(
        "/login", data={"email": REP, "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    return client


def test_the_lead_page_shows_the_whole_journey_in_words(web: Web) -> None:
    client = web.browser_client("rep")
    start = web.clock()
    with web.db.write() as s:
        rep = s.scalars(sa.select(User).where(User.email == REP)).one()
        rep.working_hours = ALL_WEEK
        activate_rules(
            s,
            f"name: r\nfallback: {{queue: Sales inbox}}\nrules:\n  - {{name: All, assign: {{user: {REP}}}}}\n"
            "sla:\n  - {name: Standard, first_touch_minutes: 240}\n",
            now=start,
        )
        person = {
            "email": "jane.roe@acme.example",
            "first_name": "Jane",
            "last_name": "Roe",
            "company": "Acme",
        }
        h.ingest_people(s, [m.parse_person(person)], now=start, source="import")
    _act(web, "demo_request", start)
    with web.db.read() as s:
        lead_id = s.scalars(sa.select(Lead.id)).one()
    assert [r["id"] for r in client.get("/api/v1/inbox").json()] == [lead_id]
    rejected = start + timedelta(hours=2)
    web.clock.at = rejected
    with web.db.write() as s:
        reject(s, lead_id, s.get_one(User, rep.id), "no_budget", now=rejected)
    assert client.get("/api/v1/inbox").json() == []  # recycled: with marketing, not in her inbox
    inbox_page = client.get("/inbox")
    assert inbox_page.status_code == 200 and inbox_page.context["rows"] == []  # type: ignore[attr-defined]

    _act(web, "trial_signup", rejected + timedelta(days=40, hours=1))
    client = _signed_in(web)  # 40 days on, the morning's session has long ended
    page = client.get(f"/leads/{lead_id}")
    assert page.status_code == 200 and page.template.name == "lead.html"  # type: ignore[attr-defined]
    steps = page.context["journey"]  # type: ignore[attr-defined]
    assert [(s.what, s.detail, s.by) for s in steps] == [
        ("Opened", "owned by Marketing nurture", None),
        (
            "Became an MQL",
            f"Hand-raise: demo request on {start - timedelta(minutes=1):%Y-%m-%d %H:%M} UTC — sent to sales at once",
            None,
        ),
        ("Assigned to Rep", None, None),
        ("Rejected by sales", "No budget", "Rep"),
        ("Reactivated after 40 days in remarketing (rejected by sales: no budget)", steps[4].detail, None),
        ("Assigned to Rep", None, None),
    ]
    assert steps[4].detail.startswith("Hand-raise: trial sign-up on ")
    assert [s.stage for s in steps] == ["inquiry", "mql", "mql", "recycled", "mql", "mql"]
    html = page.text
    section = html[html.index('id="journey"') : html.index("</ol>", html.index('id="journey"'))]
    section = re.sub(r"<[^>]+>", " ", section.partition(">")[2])  # what a person reads
    for words in ("Rejected by sales", "No budget", "Recycled", "Reactivated after 40 days", "trial sign-up"):
        assert words in section
    for code in ("no_budget", "reactivated", "trial_signup", "reached_mql", "recycled"):
        assert code not in section
    api = client.get(f"/api/v1/leads/{lead_id}").json()
    assert [s["what"] for s in api["journey"]] == [s.what for s in steps]
    assert [r["id"] for r in client.get("/api/v1/inbox").json()] == [lead_id]  # hers again
