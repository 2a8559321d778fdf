"""`leadloop routing`, `leadloop users calendar|away|deactivate` and `leadloop report` as a person
uses them, with the messages bad input gets."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from leadloop.cli import app

RULES = """\
name: cli
version: 2
fallback: {queue: Sales inbox}
pools:
  p: {mode: weighted, members: [{user: ann@x.io, weight: 2}, {user: bob@x.io}]}
rules:
  - {name: all, assign: {pool: p}}
"""


def test_routing_and_user_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run = CliRunner().invoke
    out = run(app, ["routing", "export", "--database-url", url])
    assert out.exit_code == 0 and "fallback:" in out.stdout and "Sales inbox" in out.stdout
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("weight: 2", "weight: -2"))
    bad = run(app, ["routing", "import", str(rules), "--database-url", url])
    assert bad.exit_code == 2 and "line 5" in bad.output and "weight must be positive" in bad.output
    rules.write_text(RULES)
    ok = run(app, ["routing", "import", str(rules), "--database-url", url])
    assert ok.exit_code == 0 and "draft #1" in ok.output
    missing = run(app, ["routing", "activate", "1", "--database-url", url])
    assert missing.exit_code == 2 and "these users do not exist: ann@x.io, bob@x.io" in missing.output
    for who in ("ann", "bob", "max"):
        made = run(
            app,
            [
                "users",
                "create",
                "--email",
                f"{who}@x.io",
                "--name",
                who,
                "--role",
                "rep",
                "--password",
                "correct horse battery",
                "--database-url",
                url,
            ],
        )
        assert made.exit_code == 0, made.output
    assert run(app, ["routing", "activate", "1", "--database-url", url]).exit_code == 0
    assert "0 leads replayed" in run(app, ["routing", "whatif", "1", "--database-url", url]).output
    zone = run(app, ["users", "calendar", "ann@x.io", "--timezone", "Mars/Olympus", "--database-url", url])
    assert zone.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in zone.output
    hours = run(
        app,
        ["users", "calendar", "ann@x.io", "--hours", "mon=09:00-13:00,12:00-17:00", "--database-url", url],
    )
    assert hours.exit_code == 2 and "working spans overlap" in hours.output
    good = run(
        app,
        [
            "users",
            "calendar",
            "ann@x.io",
            "--timezone",
            "Europe/Berlin",
            "--hours",
            "mon=09:00-17:00",
            "--holidays",
            "DE/BE",
            "--manager",
            "max@x.io",
            "--database-url",
            url,
        ],
    )
    assert good.exit_code == 0, good.output
    cycle = run(app, ["users", "calendar", "max@x.io", "--manager", "ann@x.io", "--database-url", url])
    assert cycle.exit_code == 2 and "cycle" in cycle.output
    away = run(
        app,
        ["users", "away", "ann@x.io", "--from", "2026-12-22", "--until", "2027-01-02", "--database-url", url],
    )
    assert away.exit_code == 0
    again = run(
        app,
        ["users", "away", "ann@x.io", "--from", "2026-12-30", "--until", "2027-01-05", "--database-url", url],
    )
    assert again.exit_code == 2 and "overlaps the absence already recorded from 2026-12-22" in again.output
    gone = run(app, ["users", "deactivate", "bob@x.io", "--database-url", url])
    assert gone.exit_code == 0 and "0 open leads routed again" in gone.output
    report = run(app, ["report", "sla", "--by", "team", "--database-url", url])
    assert report.exit_code == 0 and "Speed to lead" in report.output
    wrong = run(app, ["report", "sla", "--by", "planet", "--database-url", url])
    assert wrong.exit_code == 2 and "--by must be one of rep, team, source, grade" in wrong.output
    assert run(app, ["report", "rejections", "--database-url", url]).exit_code == 0
