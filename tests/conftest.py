"""Shared fixtures: a real database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from leadloop.bootstrap import session_info
from leadloop.core.clock import FrozenClock
from leadloop.settings import Settings
from leadloop.store.db import Database, make_engine
from leadloop.store.migrate import upgrade
from leadloop.store.tables import Base

# `make test-fast` (the edit loop) draws fewer examples per property; `make test` draws the default
# and each test's own count.
FAST_EXAMPLES = 20
hypothesis_settings.register_profile("fast", max_examples=FAST_EXAMPLES)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under the fast profile a property's own larger count is capped too."""
    if config.getoption("hypothesis_profile", None) != "fast":
        return
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if own is not None and own.max_examples > FAST_EXAMPLES:
            test._hypothesis_internal_use_settings = hypothesis_settings(own, max_examples=FAST_EXAMPLES)  # type: ignore[union-attr]


pytest_plugins = [
    "tests.fixtures.capture",
    "tests.fixtures.consent",
    "tests.fixtures.imap",
    "tests.fixtures.nurture",
    "tests.fixtures.opportunities",
    "tests.fixtures.routing",
    "tests.fixtures.scoring",
    "tests.fixtures.web",
]

PG_URL = os.environ.get("LEADLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("LEADLOOP_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    # One schema per checkout and xdist worker (or "main" without xdist), so parallel workers, and
    # two checkouts testing at once on one PostgreSQL, never collide.
    checkout = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:8]
    schema = f"ll_test_{checkout}_" + os.environ.get("PYTEST_XDIST_WORKER", "main").replace("-", "_")
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem, said plainly
        pytest.exit(
            f"PostgreSQL is not reachable at {PG_URL} ({exc.orig}); run `make system` first", returncode=3
        )
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


# A test starts on empty tables with every id sequence at 1. A TRUNCATE ... CASCADE of all ~75
# tables cost half a second a test (a new file for each); most tests touch a handful of tables, so
# only those holding rows are emptied with DELETE, children first (3 ms), and every sequence is set
# back to 1 in one query (setval: no DDL).
# The job engine's tables (PostgreSQL, migration 0036) come first: its jobs point at no model.
_ENGINE = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
_ORDER = [*_ENGINE, *(t.name for t in reversed(Base.metadata.sorted_tables))]
_PROBE = " UNION ALL ".join(f"(SELECT '{name}' FROM {name} LIMIT 1)" for name in _ORDER)
_RESTART = (
    "SELECT setval(c.oid, 1, false) FROM pg_class c "
    "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
)


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        used = {name for (name,) in conn.exec_driver_sql(_PROBE)}
        for name in _ORDER:
            if name in used:
                conn.exec_driver_sql(f"DELETE FROM {name}")
        conn.exec_driver_sql(_RESTART)
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "leadloop.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    # As a deployment on this database is set up: on PostgreSQL timers and messages are also jobs
    # of the engine (ADR 0042).
    database = Database(make_engine(db_url), info=session_info(Settings(database_url=db_url)))
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """For tests about behaviour that does not depend on the database."""
    path = tmp_path / "leadloop.db"
    shutil.copy(sqlite_template, path)
    database = Database(make_engine(f"sqlite:///{path}"), info=session_info())
    yield database
    database.dispose()


def count(db: Database, table: type) -> int:
    with db.read() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
