"""The dashboards: each role its own board, the page's tables are the reports' numbers, every panel
downloads as the same CSV, and a bad period is a sentence, never a 500."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from leadloop.analytics.attribution_report import attribution_report
from leadloop.dashboards.boards import View
from tests.fixtures.attribution import NOW, attribution_world
from tests.fixtures.web import Web


def _panels(r: object) -> dict[str, object]:
    return {p.id: p for p, _config, _text in r.context["panels"]}  # type: ignore[attr-defined]


def test_each_role_lands_on_its_own_board(web: Web) -> None:
    for role, board in (
        ("marketing", "marketing"),
        ("manager", "manager"),
        ("rep", "rep"),
        ("admin", "marketing"),
    ):
        r = web.browser_client(role).get("/dashboards", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/dashboards/{board}", role


def test_a_rep_has_no_marketing_or_manager_board(web: Web) -> None:
    rep = web.browser_client("rep")
    assert rep.get("/dashboards/marketing").status_code == 404
    assert rep.get("/dashboards/manager").status_code == 404
    assert rep.get("/dashboards/rep").status_code == 200
    assert TestClient(web.app).get("/dashboards/rep", follow_redirects=False).status_code in (303, 401)
    assert web.api_client("partner").get("/dashboards/rep").status_code == 403


def test_the_attribution_panel_shows_the_report_s_numbers_and_its_csv_is_the_same(web: Web) -> None:
    attribution_world(web.db)
    client = web.browser_client("marketing")
    params = {"from": "2026-01-01", "to": "2026-10-31"}
    r = client.get("/dashboards/marketing", params=params)
    assert r.status_code == 200 and r.template.name == "dashboard.html"  # type: ignore[attr-defined]
    panel = _panels(r)["attribution"]
    models = ("first_touch", "last_touch", "linear", "w_shaped")
    with web.db.read() as s:
        want = attribution_report(
            s,
            now=NOW,
            models=models,
            by="campaign",
            start=NOW.date().replace(month=1, day=1),
            end=NOW.date().replace(month=10, day=31),
            window=timedelta(days=180),
            half_life=timedelta(days=7),
        )
    assert want, "the world has won revenue in the period"
    got = [(row["campaign"], row["currency"], *(row[m] for m in models)) for row in panel.rows]  # type: ignore[attr-defined]
    assert got == [(w.group, w.currency, *(w.revenue.get(m) for m in models)) for w in want]
    body = client.get("/dashboards/marketing/attribution.csv", params=params)
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert lines[0] == ["Campaign", "Currency", "First touch", "Last touch", "Linear", "W-shaped"]
    assert [(a, b, *(Decimal(x) if x else None for x in rest)) for a, b, *rest in lines[1:]] == got


def test_a_period_that_ends_before_it_starts_is_a_sentence(web: Web) -> None:
    client = web.browser_client("marketing")
    for url in ("/dashboards/marketing", "/dashboards/marketing/funnel.csv"):
        r = client.get(url, params={"from": "2026-05-02", "to": "2026-05-01"})
        assert r.status_code in (400, 422), r.status_code
        assert "ends (2026-05-01) before it starts (2026-05-02)" in r.text
    assert client.get("/dashboards/marketing", params={"from": "yesterday"}).status_code == 422


def test_an_unknown_panel_is_not_found(web: Web) -> None:
    client = web.browser_client("marketing")
    assert client.get("/dashboards/marketing/nothing.csv").status_code == 404
    assert client.get("/dashboards/board9").status_code in (404, 422)


def test_the_default_period_is_the_last_ninety_days(web: Web) -> None:
    r = web.browser_client("manager").get("/dashboards/manager")
    assert r.status_code == 200
    assert r.context["end"] == NOW.date()  # type: ignore[attr-defined]
    assert r.context["start"] == NOW.date() - timedelta(days=89)  # type: ignore[attr-defined]


def test_a_view_knows_its_reach() -> None:
    v = View(now=NOW, start=NOW, end=NOW, user_id=1, users=frozenset({1}))
    assert v.users == frozenset({1})
