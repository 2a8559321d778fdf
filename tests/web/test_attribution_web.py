"""GET /api/v1/reports/attribution: staff only, the same numbers as the report, amounts as exact
strings, and bad input answered with a sentence (422), never a 500."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from leadloop.analytics.attribution_report import attribution_report
from tests.fixtures.attribution import NOW, attribution_world
from tests.fixtures.web import Web

URL = "/api/v1/reports/attribution"


def test_the_api_gives_the_report_s_numbers(web: Web) -> None:
    attribution_world(web.db)
    api = web.api_client("marketing")
    r = api.get(
        URL, params={"by": "channel", "model": ["linear", "markov"], "from": "2026-01-01", "to": "2026-10-31"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["models"] == ["linear", "markov"]
    with web.db.read() as s:
        want = attribution_report(
            s, now=NOW, by="channel", models=["linear", "markov"], start=NOW.date().replace(month=1, day=1),
            end=NOW.date().replace(month=10, day=31),
        )  # fmt: skip
    assert [(row["group"], row["currency"]) for row in body["rows"]] == [(w.group, w.currency) for w in want]
    for row, w in zip(body["rows"], want, strict=True):
        assert {m: Decimal(v) for m, v in row["revenue"].items()} == w.revenue
        assert {m: Decimal(v) for m, v in row["pipeline"].items()} == w.pipeline


def test_every_model_by_default(web: Web) -> None:
    attribution_world(web.db)
    body = web.api_client("rep").get(URL).json()
    assert len(body["models"]) == 8 and body["rows"]
    assert set(body["rows"][0]["revenue"]) == set(body["models"])


def test_bad_input_is_a_sentence_not_a_500(web: Web) -> None:
    api = web.api_client("marketing")
    cases = {
        (("from", "2026-05-02"), ("to", "2026-05-01")): "ends (2026-05-01) before it starts",
        (("campaign", "Winter gala"),): "no campaign 'Winter gala'",
        (("model", "shapley"),): "unknown attribution model 'shapley'",
        (("by", "rep"),): "group by one of campaign, channel, content",
    }
    for params, message in cases.items():
        r = api.get(URL, params=list(params))
        assert r.status_code == 422, (params, r.text)
        assert message in r.text
    r = api.get(URL, params={"from": "yesterday"})
    assert r.status_code == 422


def test_staff_only(web: Web) -> None:
    assert TestClient(web.app).get(URL).status_code == 401
    assert web.api_client("partner").get(URL).status_code == 403
