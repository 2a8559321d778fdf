"""PostgreSQL restarted during a capture burst (the scale-out issue's fault test): a PostgreSQL
cluster of the test's own (initdb in a temporary directory, so the machine's server and the other
tests are not touched) is restarted while an integration posts leads through the API. A request
that failed is sent again with the same Idempotency-Key, as the API asks of a client. Every lead the
API acknowledged is stored exactly once, and the app answers again after the restart without being
restarted itself (the pool checks a connection before it lends it)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadloop.bootstrap import session_info
from leadloop.core.clock import FrozenClock
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from leadloop.store.tables import Person
from leadloop.web.app import create_app
from tests.fixtures.web import Web

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not BIN or os.geteuid() != 0, reason="needs PostgreSQL's binaries and root (to run as postgres)"
    ),
]
N = 150


def _as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)


class _Cluster:
    def __init__(self, root: Path) -> None:
        self.dir = root / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.pg_ctl = f"{BIN[-1]}/pg_ctl"

    def init(self) -> None:
        _as_postgres(f"{BIN[-1]}/initdb", "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_postgres(self.pg_ctl, "-D", str(self.dir), "-o", opts, "-w", "-l", str(self.dir / "log"), "start")

    def restart(self) -> None:
        _as_postgres(self.pg_ctl, "-D", str(self.dir), "-m", "fast", "-w", "stop")
        time.sleep(0.5)  # a moment with no server at all: requests in it fail
        self.start()

    def stop(self) -> None:
        _as_postgres(self.pg_ctl, "-D", str(self.dir), "-m", "immediate", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[_Cluster]:
    root = Path(tempfile.mkdtemp(prefix="leadloop-pg-"))  # pytest's own is root's alone (0700)
    shutil.chown(root, "postgres")
    c = _Cluster(root)
    try:
        c.init()
        yield c
        c.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_every_acknowledged_capture_is_stored_once_across_a_restart(cluster: _Cluster) -> None:
    engine = make_engine(cluster.url)
    upgrade(engine)
    engine.dispose()
    db = Database(make_engine(cluster.url), info=session_info())
    clock = FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    web = Web(create_app(Settings(database_url=cluster.url, log_json=True), clock=clock, db=db), db, clock)
    api = web.api_client("marketing")
    acknowledged: set[str] = set()
    failures = 0
    restarted = threading.Event()

    def restart_soon() -> None:
        while len(acknowledged) < N // 3:
            time.sleep(0.005)
        cluster.restart()
        restarted.set()

    threading.Thread(target=restart_soon, daemon=True).start()
    deadline = time.monotonic() + 120
    for i in range(N):
        email = f"burst{i}@pgrestart.example"
        while True:  # the client's side of the contract: retry with the same key until acknowledged
            assert time.monotonic() < deadline, f"no recovery: {len(acknowledged)} acknowledged"
            r = api.post(
                "/api/v1/leads",
                json={"email": email, "company": f"Burst {i % 10} Ltd", "first_name": "B"},
                headers={"Idempotency-Key": f"burst-{i}"},
            )
            if r.status_code == 200:
                acknowledged.add(email)
                break
            failures += 1
            # Down: a 503 to send again, never a crash or a wrong answer.
            assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
            assert "Idempotency-Key" in r.json()["detail"]
            time.sleep(0.05)
    assert restarted.is_set()
    assert failures > 0, "the restart fell between requests: nothing was tested"
    with db.read() as s:
        stored = list(s.scalars(sa.select(Person.email).where(Person.email.like("%@pgrestart.example"))))
    assert len(stored) == len(set(stored)) == N and set(stored) == acknowledged
    db.dispose()
