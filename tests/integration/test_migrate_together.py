"""A deployment's processes start together and each migrates first (the scale-out issue): on
PostgreSQL three at once on an empty schema all succeed, one after another under an advisory lock,
and the schema ends at the latest migration once."""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from leadloop.store.db import make_engine
from leadloop.store.migrate import upgrade
from tests.conftest import PG_URL

pytestmark = pytest.mark.slow


def _migrate(url: str, start: Any) -> None:
    engine = make_engine(url)
    start.wait()
    upgrade(engine)  # an exception ends the process with exit code 1
    engine.dispose()


def test_three_processes_migrating_at_once_all_succeed() -> None:
    schema = f"ll_together_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    forked = multiprocessing.get_context("fork")
    start = forked.Barrier(3)

    try:
        procs = [forked.Process(target=_migrate, args=(url, start)) for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        with admin.connect() as conn:
            versions = conn.exec_driver_sql(f"SELECT version_num FROM {schema}.alembic_version").all()
            tables = conn.scalar(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            )
        assert len(versions) == 1 and tables and tables > 50
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
