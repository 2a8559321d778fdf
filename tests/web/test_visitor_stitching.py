"""Anonymous to known: activities that carried only a visitor id (the site's cookie) join the
person as soon as they identify themselves, count towards their score and show on their timeline;
later anonymous visits by the same visitor go straight to them."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from leadloop.store.tables import Activity, Person
from tests.fixtures.web import Web


def test_a_visitor_who_identifies_gets_their_anonymous_history(web: Web) -> None:
    api = web.api_client()
    day = web.clock() - timedelta(days=2)
    for k, kind in enumerate(("page_view", "pricing_page_view", "pricing_page_view")):
        r = api.post(
            "/api/v1/activities",
            json={
                "type": kind,
                "visitor_id": "cookie-42",
                "occurred_at": (day + timedelta(hours=k)).isoformat(),
                "url": "/pricing",
            },
        )
        assert r.status_code == 200, r.text
    with web.db.read() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count()).where(
                    Activity.visitor_id == "cookie-42", Activity.person_id.is_(None)
                )
            )
            == 3
        )
    form = api.post(
        "/api/v1/leads",
        json={
            "email": "ida@known.example",
            "first_name": "Ida",
            "company": "Known",
            "activity_type": "form_submit",
            "visitor_id": "cookie-42",
            "occurred_at": (day + timedelta(days=1)).isoformat(),
        },
    )
    assert form.status_code == 200, form.text
    person_id = form.json()["person_id"]
    with web.db.read() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count()).where(
                    Activity.visitor_id == "cookie-42", Activity.person_id.is_(None)
                )
            )
            == 0
        )
        mine = s.scalar(sa.select(sa.func.count()).where(Activity.person_id == person_id))
        assert mine == 4  # the three anonymous visits and the form
        person = s.get(Person, person_id)
        assert person is not None
        # pricing page views count (2 x 10) beside the form (20): the score includes the past visits
        assert person.engagement_s > 35
    page = api.get(f"/api/v1/people/{person_id}").json()
    assert sum(1 for a in page["timeline"] if a["type"] == "pricing_page_view") == 2
    later = api.post(
        "/api/v1/activities",
        json={
            "type": "page_view",
            "visitor_id": "cookie-42",
            "occurred_at": (day + timedelta(days=1, hours=2)).isoformat(),
        },
    )
    assert later.status_code == 200
    with web.db.read() as s:
        assert (
            s.scalar(sa.select(Activity.person_id).where(Activity.id == later.json()["activity_id"]))
            == person_id
        )
