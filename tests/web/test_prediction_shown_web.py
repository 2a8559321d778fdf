"""A lead shows a predicted probability only from a model that beat the simple baselines; otherwise
its page and the API say why there is none (issue 16, honesty first)."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.scoring.predictive import Report
from leadloop.scoring.predictive_status import NO_MODEL
from leadloop.store.tables import Lead, Person, PredictiveModelRow, User
from tests.fixtures.opportunities import build_deal
from tests.fixtures.web import Web

OFF = "on your history the model ranks no better than recent activity alone (held-out ROC AUC 0.61 against 0.62)"


def _store(web: Web, off: str | None) -> None:
    report = Report(40, 12, 0.61, 0.4, 0.3, [(1, 4, 0.5, 1.67)], [(0.3, 0.25, 40)], "logistic")
    report.baselines = {"rules": 0.55, "recency": 0.62}
    report.rolling = [[1.7e9, 20, 6, 0.6, 0.55, 0.61]]
    report.off = off
    with web.db.write() as s:
        s.execute(sa.update(PredictiveModelRow).values(status="retired"))
        s.add(
            PredictiveModelRow(
                created_at=web.clock(), trained_on=80, status="active", report=report.__dict__, blob=b""
            )
        )


def test_the_lead_says_why_it_has_no_probability_and_shows_one_from_a_model_that_won(web: Web) -> None:
    client = web.browser_client("rep")
    api = web.api_client("admin")
    with web.db.write() as s:
        lead_id = build_deal(s, now=web.clock()).lead_id
        me = s.scalars(sa.select(User).where(User.email == "rep-web@test.example")).one()
        s.get_one(Lead, lead_id).owner_user_id = me.id
    body = api.get(f"/api/v1/leads/{lead_id}").json()
    assert body["predicted"] is None and body["predicted_off"] == NO_MODEL
    _store(web, OFF)
    body = api.get(f"/api/v1/leads/{lead_id}").json()
    assert body["predicted"] is None and body["predicted_off"] == OFF
    page = client.get(f"/leads/{lead_id}").text
    assert "No predicted chance is shown: on your history the model ranks no better" in page
    assert "Predicted chance of a won deal" not in page
    scoring = web.browser_client("admin").get("/scoring").text
    assert "Its probabilities are not shown." in scoring and "recent activity alone 0.620" in scoring
    assert "Rolling backtest" in scoring and "2023-11-14" in scoring
    _store(web, None)  # a model that beat the baselines, and its probability on the lead
    with web.db.write() as s:
        s.get_one(Lead, lead_id).predicted = 0.42
    body = api.get(f"/api/v1/leads/{lead_id}").json()
    assert body["predicted"] == 0.42 and body["predicted_off"] is None
    page = client.get(f"/leads/{lead_id}").text
    assert (
        "Predicted chance of a won deal: <strong>42%</strong>" in page and "No predicted chance" not in page
    )
    # Its expected value beside it, with where the deal size comes from; the leads list sorts by it.
    with web.db.write() as s:
        lead = s.get_one(Lead, lead_id)
        lead.expected_value, lead.expected_value_basis = (
            12_600.0,
            "USD 30,000, the median of all 14 won deals",
        )
    body = api.get(f"/api/v1/leads/{lead_id}").json()
    assert (body["expected_value"], body["expected_value_currency"]) == (12_600.0, "USD")
    page = client.get(f"/leads/{lead_id}").text
    assert "Expected value: <strong>12,600 USD</strong>" in page
    assert "42% of USD 30,000, the median of all 14 won deals" in page
    listing = client.get("/leads?sort=value&dir=desc").text
    assert "Expected value" in listing and 'data-label="Expected value">12,600<' in listing
    assert 'data-label="Chance">42%<' in listing
    with web.db.write() as s:  # too few won deals: no value, and the page says why
        lead = s.get_one(Lead, lead_id)
        lead.expected_value, lead.expected_value_basis = (
            None,
            "no expected value: it needs 3 more won deals with an amount",
        )
    page = client.get(f"/leads/{lead_id}").text
    assert "No expected value: it needs 3 more won deals with an amount." in page
    # Converted, the deal's own amount counts, not a value estimated before it; won, nothing to predict.
    with web.db.write() as s:
        lead = s.get_one(Lead, lead_id)
        lead.stage, lead.expected_value = "opportunity", 68.0
    page = client.get(f"/leads/{lead_id}").text
    assert "the opportunity below carries its own amount" in page and "Expected value:" not in page
    with web.db.write() as s:
        s.get_one(Lead, lead_id).stage = "won"
    page = client.get(f"/leads/{lead_id}").text
    assert "The deal is won: no prediction is needed." in page and "Predicted chance" not in page


def test_a_person_shows_their_own_probability_from_the_peoples_model(web: Web) -> None:
    client, api = web.browser_client("admin"), web.api_client("admin")
    with web.db.write() as s:
        build_deal(s, now=web.clock())
        person_id = s.scalars(sa.select(Person.id)).first()
    assert person_id is not None
    assert api.get(f"/api/v1/people/{person_id}").json()["predicted"] is None
    assert "Predicted chance their account wins" not in client.get(f"/people/{person_id}").text
    with web.db.write() as s:
        person = s.get_one(Person, person_id)
        person.predicted, person.predicted_why = 0.004, [["demo request, last 90 days", 0.12]]
    body = api.get(f"/api/v1/people/{person_id}").json()
    assert body["predicted"] == 0.004 and body["predicted_why"] == [
        {"feature": "demo request, last 90 days", "change": 0.12}
    ]
    page = client.get(f"/people/{person_id}").text
    assert "Predicted chance their account wins a deal: <strong>0.4%</strong>" in page
    assert "demo request, last 90 days: <strong>+12 points</strong>" in page
