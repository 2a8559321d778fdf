"""`leadloop report attribution` as a person uses it: the CSV carries the report's numbers, the
table prints, and bad input gets a sentence and exit code 2."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from leadloop.analytics.attribution_report import attribution_report
from leadloop.bootstrap import session_info
from leadloop.cli import app
from leadloop.cli._common import console
from leadloop.core.clock import utcnow
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from tests.fixtures.attribution import attribution_world


def test_report_attribution(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine, info=session_info())
    attribution_world(db)
    run = CliRunner().invoke
    out = run(
        app,
        ["report", "attribution", "--by", "channel", "--model", "u_shaped", "--csv", "--database-url", url],
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["channel", "currency", "u_shaped revenue", "u_shaped pipeline"]
    with db.read() as s:
        want = attribution_report(s, now=utcnow(), by="channel", models=["u_shaped"])
    assert [(r[0], r[1], Decimal(r[2]), Decimal(r[3])) for r in rows[1:]] == [
        (w.group, w.currency, w.revenue["u_shaped"], w.pipeline["u_shaped"]) for w in want
    ]
    wide = console.size
    console.size = (200, 50)  # a wide terminal: the console measured this process's at import
    try:
        table = run(app, ["report", "attribution", "--database-url", url])
    finally:
        console.size = wide
    # A table's cells wrap at the terminal's width (80 under a test runner): words, not layout.
    words = re.sub(r"[\s│┃┏┓┗┛━─┡┩┳┻╇┼┬┴└┘┌┐]+", " ", table.output)
    assert table.exit_code == 0 and "Attribution by campaign" in words and "(no touches)" in words
    db.dispose()
    for args, message in [
        (["--from", "2026-05-02", "--to", "2026-05-01"], "before it starts"),
        (["--from", "May"], "--from must be a date"),
        (["--campaign", "Winter gala"], "no campaign 'Winter gala'"),
        (["--model", "shapley"], "unknown attribution model 'shapley'"),
        (["--by", "rep"], "group by one of"),
    ]:
        bad = run(app, ["report", "attribution", *args, "--database-url", url])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)
