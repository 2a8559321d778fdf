"""Migration 0022 on SQLite and PostgreSQL: `email_opt_in` becomes derived from the consent log, so
what it held before is written to the log first; no opt-out is lost, no opt-in forgotten."""

from __future__ import annotations

import sqlalchemy as sa

from leadloop.store.db import make_engine
from leadloop.store.migrate import downgrade, upgrade
from tests.conftest import NOW


def test_opt_ins_and_opt_outs_held_before_are_carried_into_the_log(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _carried_over(engine)
    finally:
        upgrade(engine)  # the schema at head again for the next test, whatever happened
        engine.dispose()


def _carried_over(engine: sa.Engine) -> None:
    downgrade(engine, "0021")  # the database as 0021 left it (the fixture's is at head)
    people = sa.table(
        "people",
        sa.column("email", sa.String),
        sa.column("email_opt_in", sa.Boolean),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
        sa.column("attributes", sa.JSON),
        sa.column("engagement_s", sa.Float),
        sa.column("engagement_t0", sa.Float),
        sa.column("engagement_key", sa.Float),
    )
    with engine.begin() as conn:
        conn.execute(
            people.insert(),
            [
                {
                    "email": f"{who}@acme.com",
                    "email_opt_in": opt_in,
                    "created_at": NOW,
                    "updated_at": NOW,
                    "attributes": {},
                    "engagement_s": 0.0,
                    "engagement_t0": 0.0,
                    "engagement_key": -1e300,
                }
                for who, opt_in in (("yes", True), ("no", False), ("unknown", None))
            ],
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT p.email, c.scope, c.status, c.seq = e.id FROM consents c "
            "JOIN people p ON p.id = c.person_id JOIN consent_events e ON e.person_id = c.person_id "
            "AND e.scope = c.scope ORDER BY p.email, c.scope"
        ).all()
    assert [tuple(r) for r in rows] == [
        ("no@acme.com", "*", "withdrawn", True),
        ("yes@acme.com", "events", "granted", True),
        ("yes@acme.com", "newsletter", "granted", True),
        ("yes@acme.com", "product_updates", "granted", True),
    ]
