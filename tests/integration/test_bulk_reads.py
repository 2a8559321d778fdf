"""store/bulk.select_in: the hot path's reads, chunked, with the driver's errors still SQLAlchemy's
(the capture retries a locked SQLite by its OperationalError; the web answers 503 to one)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from leadloop.store.bulk import IN_CHUNK, select_in
from leadloop.store.db import Database
from leadloop.store.tables import Team

AT = datetime(2026, 12, 7, tzinfo=UTC)
NOWHERE = sa.Table("no_such_table", sa.MetaData(), sa.Column("id", sa.Integer), sa.Column("name", sa.String))


def test_rows_come_back_named_or_plain_across_chunks(db: Database) -> None:
    with db.write() as s:
        s.execute(
            sa.insert(Team),
            [{"name": f"t{i}", "is_queue": True, "created_at": AT} for i in range(IN_CHUNK + 5)],
        )
    with db.read() as s:
        names = [f"t{i}" for i in range(IN_CHUNK + 5)] + ["missing"]
        named = select_in(s, (Team.id, Team.name), Team.name, names)
        plain = select_in(s, (Team.id, Team.name), Team.name, names, tuples=True)
    assert sorted(r.name for r in named) == sorted(names[:-1])
    assert sorted((r.id, r.name) for r in named) == sorted(tuple(r) for r in plain)


def test_a_driver_error_is_raised_as_sqlalchemys(db: Database) -> None:
    with db.read() as s, pytest.raises(sa.exc.DBAPIError):
        select_in(s, (NOWHERE.c.id,), NOWHERE.c.name, ["x"])
