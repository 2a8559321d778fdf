"""Engine and sessions. SQLite gets WAL and write transactions that take the lock up front."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from leadloop.core.fold import fold


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        # One connection per worker thread (anyio's pool has 40): reconnecting would redo the PRAGMAs.
        engine = sa.create_engine(
            url,
            echo=echo,
            pool_size=40,
            max_overflow=10,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    engine = sa.create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)

    @event.listens_for(engine, "connect")
    def _iso_dates(dbapi_conn: Any, _record: Any) -> None:
        # Times cast to text in SQL are parsed as ISO (core/arrays.moments): a server set to
        # another DateStyle would otherwise write them its way. (Not the URL's `options`: that is
        # where a deployment sets its search_path.)
        with dbapi_conn.cursor() as cur:
            cur.execute("SET DateStyle = 'ISO, YMD'")
        dbapi_conn.commit()

    return engine


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that BEGIN is ours to choose.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # 64 MiB of page cache (the default is 2 MiB): the unique indexes of a large warehouse
        # outgrow the default, and every capture probes them.
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()
        # Search folds text in SQL with the same pure function as its terms (PostgreSQL: migration 0017).
        dbapi_conn.create_function("ll_fold", 1, fold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A deferred transaction that reads and then writes fails with SQLITE_BUSY when another
        # writer got in between, and busy_timeout cannot help it. Writers lock up front instead.
        if conn.get_execution_options().get("leadloop_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """What handlers are given: a way to open a read or a write session on one engine."""

    def __init__(self, engine: Engine, *, info: dict[str, Any] | None = None) -> None:
        """`info` travels with every session (`session.info`): the policies handlers need that come
        from settings, such as identity matching thresholds, without threading them through calls."""
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.info = dict(info or {})
        self._read = sessionmaker(bind=engine, expire_on_commit=False, info=self.info)
        self._write = sessionmaker(
            bind=engine.execution_options(leadloop_write=True), expire_on_commit=False, info=self.info
        )
        # SQLite has one writer. Queue this process's writers on a lock, which wakes the next one
        # at once, instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms
        # (seconds of tail latency under 20 concurrent captures). Other processes still meet
        # busy_timeout.
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work: commit once at the end, roll back on any error."""
        if self._write_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
