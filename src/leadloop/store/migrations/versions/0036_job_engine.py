"""the job engine's tables on PostgreSQL (procrastinate), with a job for every pending timer and message

Issue 20, ADR 0042: on PostgreSQL timers and the outbox run on procrastinate. Its schema is
procrastinate's own, from the installed (pinned) version. A warehouse that already has pending
timers and unsent messages gets a job for each, so none waits for the backstop. SQLite: nothing.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 05:20:00
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_BACKFILL = """
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args, scheduled_at)
SELECT 'timers', 'leadloop.timer', 1,
       jsonb_build_object('kind', kind, 'subject', subject,
                          'due_at', to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
       due_at
  FROM timers WHERE done_at IS NULL;
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args, scheduled_at)
SELECT 'outbox', 'leadloop.message', 0, 'outbox:' || key, jsonb_build_object('key', key), next_attempt_at
  FROM outbox WHERE sent_at IS NULL;
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # On psycopg's own connection, in this transaction: no parameters, so its '%' signs stay as
    # they are.
    driver = bind.connection.driver_connection
    assert driver is not None
    driver.execute(SchemaManager.get_schema())
    driver.execute(_BACKFILL)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    driver = bind.connection.driver_connection
    assert driver is not None
    for name in (
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_jobs",
        "procrastinate_workers",
    ):
        driver.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
    driver.execute(_DROP_FUNCTIONS_AND_TYPES)


_DROP_FUNCTIONS_AND_TYPES = """
DO $$ DECLARE f record; BEGIN
  FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
            WHERE p.proname LIKE 'procrastinate%' AND p.pronamespace = current_schema()::regnamespace LOOP
    EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE';
  END LOOP;
  FOR f IN SELECT t.typname FROM pg_type t
            WHERE t.typname LIKE 'procrastinate%' AND t.typtype IN ('e', 'c')
              AND t.typnamespace = current_schema()::regnamespace LOOP
    EXECUTE 'DROP TYPE ' || quote_ident(f.typname) || ' CASCADE';
  END LOOP;
END $$
"""
