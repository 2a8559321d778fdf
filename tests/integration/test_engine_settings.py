"""What every connection of the engine is set to, whatever the server's defaults."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from leadloop.core.arrays import moments
from leadloop.store.db import Database


def test_postgresql_writes_times_as_iso_text_whatever_its_datestyle(db: Database) -> None:
    """The columnar reports cast times to text and parse them as ISO: a server whose default
    DateStyle is another (SQL, German) must not reach them; the URL's own options (search_path)
    are kept."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("DateStyle is PostgreSQL's")
    with db.read() as s:
        assert s.scalar(sa.text("SHOW DateStyle")) == "ISO, YMD"
        text = s.scalar(sa.text("SELECT CAST(TIMESTAMP '2026-03-04 05:06:07.5' AS VARCHAR)"))
        assert str(moments([text])[0]) == "2026-03-04T05:06:07.500000"
        assert s.scalar(sa.text("SELECT count(*) FROM leads")) is not None  # the test schema is found
