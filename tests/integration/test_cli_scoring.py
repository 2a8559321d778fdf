"""`leadloop scoring` as a person uses it: export, import a draft (or be told which line is wrong),
preview, activate."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from leadloop.cli import app


def test_scoring_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    out = runner.invoke(app, ["scoring", "export", "--database-url", url])
    assert out.exit_code == 0 and "mql_threshold: 60" in out.stdout
    model = tmp_path / "model.yaml"
    model.write_text(
        out.stdout.replace("version: 1", "version: 2").replace("mql_threshold: 60.0", "mql_threshold: -1")
    )
    bad = runner.invoke(app, ["scoring", "import", str(model), "--database-url", url])
    assert (
        bad.exit_code == 2
        and "need 0 < lead_open_threshold <= mql_threshold" in bad.output
        and "line " in bad.output
    )
    model.write_text(out.stdout.replace("version: 1", "version: 2"))
    ok = runner.invoke(app, ["scoring", "import", str(model), "--database-url", url])
    assert ok.exit_code == 0 and "draft #1" in ok.output
    assert runner.invoke(app, ["scoring", "whatif", "1", "--database-url", url]).exit_code == 0
    done = runner.invoke(app, ["scoring", "activate", "1", "--database-url", url])
    assert done.exit_code == 0 and "model #1 is active" in done.output
    assert "version: 2" in runner.invoke(app, ["scoring", "export", "--database-url", url]).stdout


def test_worker_once_sweeps_and_arms_the_retrain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["worker", "--once", "--database-url", url])
    # the first retrain and the first refresh of the reports' facts are due at once
    assert first.exit_code == 0 and "2 timers ran" in first.output
    again = runner.invoke(app, ["worker", "--once", "--database-url", url])
    assert again.exit_code == 0 and "0 timers ran" in again.output  # the next are minutes and a week away
