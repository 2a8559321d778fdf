"""A kill -9 in the middle of an import, then a re-run: exactly the rows of the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop.capture.run_state import STALE_AFTER, state
from leadloop.demo.world import make_people_rows
from leadloop.store.db import Database
from leadloop.store.tables import Activity, ImportRun, Person
from tests.conftest import count
from tests.fixtures.capture import write_csv


def _people(db: Database) -> int:
    return count(db, Person)


@pytest.mark.slow
def test_kill_minus_nine_then_rerun_gives_exactly_the_file(db: Database, db_url: str, tmp_path: Path) -> None:
    rows = make_people_rows(6000, seed=3)
    header = list(rows[0])
    path = write_csv(tmp_path / "people.csv", header, [[r.get(h, "") for h in header] for r in rows])
    cmd = [
        sys.executable,
        "-m",
        "leadloop.cli",
        "import",
        "people",
        str(path),
        "--batch-size",
        "100",
        "--database-url",
        db_url,
    ]
    env = {**os.environ, "COLUMNS": "120"}
    log = tmp_path / "first-run.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _people(db) < 500:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    landed = _people(db)
    assert 0 < landed < len(rows), "the kill must land mid-import for this test to mean anything"
    with db.read() as s:  # the run is recorded as far as it landed, and reads interrupted, not running
        killed = s.scalars(sa.select(ImportRun)).one()
        assert killed.status == "running" and killed.rows_done == landed
        later = (killed.heartbeat_at or killed.started_at) + STALE_AFTER + timedelta(seconds=1)
        assert state(killed.status, killed.heartbeat_at, later) == "interrupted"
    with db.read() as s:  # each batch is all or nothing: people and their capture activities agree
        assert (
            s.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.type == "list_import"))
            == landed
        )
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _people(db) == len(rows)
    with db.read() as s:
        rerun = s.scalars(sa.select(ImportRun).order_by(ImportRun.id.desc())).first()
        assert rerun is not None and (rerun.status, rerun.rows_done, rerun.source) == (
            "done",
            len(rows),
            "cli",
        )
    with db.read() as s:
        assert set(s.scalars(sa.select(Person.external_id))) == {r["external_id"] for r in rows}
        assert s.scalar(
            sa.select(sa.func.count()).select_from(Activity).where(Activity.type == "list_import")
        ) == len(rows)
