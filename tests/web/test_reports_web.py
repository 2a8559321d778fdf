"""GET /api/v1/reports/<report> and `leadloop report <report> --csv` give the report function's
figures (CLI = API = function), the drill-down gives the leads behind a number, and bad input is a
sentence (422), never a 500."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadloop.analytics.audit import audit_report
from leadloop.analytics.facts import refresh
from leadloop.analytics.filters import Money, ReportFilters
from leadloop.analytics.shapes import REPORTS, Ask
from leadloop.bootstrap import session_info
from leadloop.cli import app
from leadloop.core.clock import utcnow
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from tests.fixtures.reports import NOW, reports_world
from tests.fixtures.web import Web


@pytest.fixture
def ready(web: Web) -> Web:
    reports_world(web.db)
    with web.db.write() as s:
        refresh(s, now=NOW, full=True)
    return web


def test_the_api_gives_the_function_s_tables(ready: Web) -> None:
    api = ready.api_client("marketing")
    for name in set(REPORTS) - {"sla"}:  # /api/v1/reports/sla is routing's (tests/web/test_sla_web.py)
        r = api.get(f"/api/v1/reports/{name}", params={"currency": "USD"})
        assert r.status_code == 200, (name, r.text)
        with ready.db.read() as s:
            want = REPORTS[name](s, Ask(NOW, ReportFilters(), Money("USD", only="USD")))
        assert r.json()["tables"] == [{"title": t.title, "header": t.header, "rows": t.rows} for t in want], (
            name
        )


def test_the_drill_down_gives_the_leads_behind_a_number(ready: Web) -> None:
    with ready.db.read() as s:
        row = audit_report(s, now=NOW, filters=ReportFilters(), by="rep", money=Money("USD", only="USD"))[0]
    r = ready.api_client("marketing").get(
        "/api/v1/reports/audit/leads", params={"by": "rep", "key": row.key, "measure": "won"}
    )
    assert r.status_code == 200 and len(r.json()["leads"]) == row.won


def test_bad_input_is_a_sentence_not_a_500(ready: Web) -> None:
    api = ready.api_client("marketing")
    cases = {
        ("funnel", (("from", "2026-05-02"), ("to", "2026-05-01"))): "before it starts",
        ("forecast", (("from", "0595-02-06"),)): "outside the years a report covers",
        ("audit", (("campaign", "Winter gala"),)): "no campaign 'Winter gala'",
        ("speed", (("segment", "Old"),)): "was deleted",
        ("roi", ()): "cannot be added to USD without an exchange rate",
        ("audit", (("by", "planet"),)): "group by one of",
        ("audit/leads", (("key", "x"), ("by", "rep"))): "a rep's key is its id",
    }
    for (name, params), message in cases.items():
        r = api.get(f"/api/v1/reports/{name}", params=list(params))
        assert r.status_code == 422, (name, r.text)
        assert message in r.text, (name, r.text)


def test_the_cli_prints_the_same_figures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine, info=session_info())
    reports_world(db)
    out = CliRunner().invoke(
        app, ["report", "audit", "--by", "grade", "--currency", "EUR", "--csv", "--database-url", url]
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.stdout)))
    with db.read() as s:
        want = REPORTS["audit"](s, Ask(utcnow(), ReportFilters(), Money("USD", only="EUR"), "grade"))[0]
    assert rows == [want.header, *want.rows]
    bad = CliRunner().invoke(app, ["report", "funnel", "--segment", "Nope", "--database-url", url])
    assert bad.exit_code == 2 and "no segment 'Nope'" in bad.output
    db.dispose()
