"""The dashboards: each role its own board; every panel is its report's numbers (the same report the
CLI and the API print); every panel downloads as the same CSV; every linked number opens exactly the
leads behind it; a bad filter is a sentence, never a 500; a currency mix without a rate fails only
its own panels, with the sentence."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from leadloop.analytics import audit, forecast, funnel, roi, sla, speed
from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import Money, ReportFilters
from leadloop.analytics.shapes import Ask
from leadloop.dashboards.boards import build
from leadloop.dashboards.view import View
from leadloop.store.tables import User
from tests.fixtures.reports import NOW, reports_world
from tests.fixtures.web import Web

PERIOD = {"from": "2025-06-01", "to": "2026-10-31"}
FILTERS = ReportFilters(NOW.date().replace(year=2025, month=6, day=1), NOW.date().replace(day=31, month=10))
MONEY = Money("USD", {"EUR": Decimal("1.10")})


@pytest.fixture
def ready(make_web: Any) -> Web:
    web: Web = make_web(fx_rates={"EUR": "1.10"})
    reports_world(web.db)
    with web.db.write() as s:
        refresh(s, now=NOW, full=True)
    return web


def _panels(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return {p.id: p for p, _config, _text in r.context["panels"]}


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


def test_every_marketing_panel_is_its_report(ready: Web) -> None:
    panels = _panels(ready.browser_client("marketing").get("/dashboards/marketing", params=PERIOD))
    with ready.db.read() as s:
        f = funnel.funnel_report(s, now=NOW, filters=FILTERS, by="cohort", money=MONEY)
        r = roi.roi_report(s, now=NOW, filters=FILTERS, money=MONEY)
        a = audit.audit_report(s, now=NOW, filters=FILTERS, by="source", money=MONEY)
        sp = speed.speed_report(s, now=NOW, filters=FILTERS)
    assert f.rows and r and a and sp, "the world has figures in the period"
    got = [(row["cohort"], *(row[st] for st in funnel.STAGES)) for row in panels["funnel"].rows]
    assert got == [(x.group, *x.reached) for x in f.rows]
    got = [
        (row["campaign"], row["cost"], row["leads"], row["won"], row["revenue"], row["attributed"])
        for row in panels["roi"].rows
    ]
    # The attributed revenue ROI is computed from is on the table beside it.
    assert got == [(x.campaign, x.cost, x.counts[0], x.counts[-1], x.revenue, x.attributed) for x in r]
    got = [
        (row["group"], row["handed"], row["rejected"], row["won"], row["revenue"])
        for row in panels["audit"].rows
    ]
    assert got == [(x.group, x.handed, x.rejected, x.won, x.revenue) for x in a]
    got = [(row["bucket"], row["leads"], row["to_won"]) for row in panels["speed"].rows]
    assert got == [(x.bucket, x.leads, x.rate("won")) for x in sp]
    share = panels["revenue_share"].rows[0]
    assert (share["won"], share["revenue"], share["old"]) == (
        f.revenue.won_deals,
        f.revenue.revenue,
        f.revenue.old_share,
    )


def test_every_manager_panel_is_its_report(ready: Web) -> None:
    panels = _panels(ready.browser_client("manager").get("/dashboards/manager", params=PERIOD))
    with ready.db.read() as s:
        ag = sla.aging_report(s, now=NOW, filters=FILTERS)
        fc = forecast.forecast(s, now=NOW, filters=FILTERS, money=MONEY)
        compliance = sla.sla_compliance(s, now=NOW, filters=FILTERS)
    assert [(row["owner"], row["open"]) for row in panels["aging"].rows] == [(x.owner, x.open) for x in ag]
    assert [(row["month"], row["open"], row["weighted"]) for row in panels["forecast"].rows] == [
        (x.month, x.open_amount, x.weighted) for x in fc.rows
    ]
    assert panels["backtest"].rows[0]["predicted"] == fc.backtest.predicted
    # a manager sees the reps in their reach (none here: a new manager with no team sees all reps' rows
    # only if the report counts them; the rows are the report's either way)
    assert {row["rep"] for row in panels["sla"].rows} <= {x.group for x in compliance}


def test_a_panel_s_csv_is_its_table(ready: Web) -> None:
    client = ready.browser_client("marketing")
    panel = _panels(client.get("/dashboards/marketing", params=PERIOD))["roi"]
    body = client.get("/dashboards/marketing/roi.csv", params=PERIOD)
    assert body.status_code == 200 and body.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert lines[0] == [c.label for c in panel.columns]
    assert len(lines) == len(panel.rows) + 1
    for line, row in zip(lines[1:], panel.rows, strict=True):
        assert line[0] == row["campaign"] and int(line[2]) == row["leads"]
        assert Decimal(line[9]) == row["revenue"]


def test_a_linked_number_opens_exactly_the_leads_behind_it(ready: Web) -> None:
    client = ready.browser_client("admin")
    panels = _panels(client.get("/dashboards/marketing", params=PERIOD))
    checked = 0
    for panel_id, measure_col in (("funnel", "mql"), ("audit", "won"), ("speed", "leads"), ("roi", "leads")):
        panel = panels[panel_id]
        for n, row in enumerate(panel.rows):
            href = panel.href(n, measure_col)
            if not row[measure_col] or href is None:
                continue
            page = client.get(href)
            assert page.status_code == 200, (href, page.text[:300])
            assert page.context["behind"] == row[measure_col], (panel_id, row)
            assert page.context["page"].total == row[measure_col]  # an admin sees every one
            checked += 1
    assert checked >= 4


def test_a_rep_opening_a_number_sees_only_their_own_leads(ready: Web) -> None:
    client = ready.browser_client("rep")
    r = client.get(
        "/dashboards/leads",
        params={**PERIOD, "report": "funnel", "key": "2026-06", "by": "cohort", "measure": "inquiry"},
    )
    assert r.status_code == 200
    page = r.context["page"]
    assert r.context["behind"] > page.total, "other reps' leads are counted, not listed"
    assert r.context["hidden"] == r.context["behind"] - page.total
    assert all(row.owner_type != "user" for row in page.rows), "no other rep's lead is listed"


def test_the_rep_board_keeps_only_the_rep_s_rows(ready: Web) -> None:
    with ready.db.read() as s:
        rep_id = s.scalar(sa.select(User.id).where(User.email == "rep1@x.example"))
        assert rep_id is not None
        view = View(Ask(NOW, FILTERS, MONEY), user_id=rep_id, start=FILTERS.start, end=FILTERS.end)  # type: ignore[arg-type]
        panels = {p.id: p for p in build(s, "rep", view)}
        everyone = {p.id: p for p in build(s, "manager", view)}
    assert {row["rep"] for row in panels["sla"].rows} <= {"Rep 1"}
    assert {row["owner"] for row in panels["aging"].rows} <= {"Rep 1"}
    assert [r for r in everyone["aging"].rows if r["owner"] == "Rep 1"] == list(panels["aging"].rows)
    assert len(panels["audit"].rows) <= 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-05-02", "to": "2026-05-01"}, "ends (2026-05-01) before it starts (2026-05-02)"),
        ({"campaign": "Winter gala"}, "no campaign 'Winter gala'"),
        ({"segment": "Old"}, "was deleted"),
        ({"team": "Nobody"}, "Nobody"),
    ],
)
def test_a_bad_filter_is_a_sentence(ready: Web, params: dict[str, str], message: str) -> None:
    client = ready.browser_client("marketing")
    for url in ("/dashboards/marketing", "/dashboards/marketing/funnel.csv"):
        r = client.get(url, params=params)
        assert r.status_code in (400, 422), (url, r.status_code)
        assert message in re.sub(r"&#39;|&#x27;", "'", r.text), r.text[:500]
    assert client.get("/dashboards/marketing", params={"from": "yesterday"}).status_code == 422


def test_a_currency_mix_without_a_rate_fails_only_its_panels(make_web: Any) -> None:
    web: Web = make_web()
    reports_world(web.db)
    with web.db.write() as s:
        refresh(s, now=NOW, full=True)
    client = web.browser_client("marketing")
    panels = _panels(client.get("/dashboards/marketing", params=PERIOD))
    assert "without an exchange rate" in panels["roi"].error
    assert panels["speed"].rows and not panels["speed"].error  # no money in it
    r = client.get("/dashboards/marketing/roi.csv", params=PERIOD)
    assert r.status_code == 422 and "without an exchange rate" in r.text


def test_an_unknown_panel_is_not_found(web: Web) -> None:
    client = web.browser_client("marketing")
    assert client.get("/dashboards/marketing/nothing.csv").status_code == 404
    assert client.get("/dashboards/board9").status_code in (404, 422)


def test_the_default_period_is_the_last_ninety_days(web: Web) -> None:
    r = web.browser_client("manager").get("/dashboards/manager")
    assert r.status_code == 200
    f = r.context["filters"]
    assert f.end == NOW.date() and (f.end - f.start).days == 89
