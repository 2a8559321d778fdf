"""the activity log's dedupe ledger; activities partitioned by month on PostgreSQL

Issue 20, ADR 0043. A partitioned table cannot hold a unique key without its partition column, so
the dedupe key's uniqueness moves to `activity_keys` (one row per key, backfilled from the log) and
`activities.dedupe_key` keeps a plain index for lookups. On PostgreSQL the existing table becomes a
table partitioned by range of `occurred_at`, a partition a month from three years back (or the
oldest activity, if later) to three months ahead and a default partition for the rest; rows,
indexes, foreign keys and the id sequence carry over. SQLite keeps one table.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 05:50:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from leadloop.store import partitions

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_keys",
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("dedupe_key", name=op.f("pk_activity_keys")),
    )
    op.execute("INSERT INTO activity_keys (dedupe_key, activity_id) SELECT dedupe_key, id FROM activities")
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("activities", schema=None) as batch_op:
            batch_op.drop_constraint("uq_activities_dedupe_key", type_="unique")
            batch_op.create_index("ix_activities_dedupe_key", ["dedupe_key"], unique=False)
        return
    _rebuild(bind, partitioned=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("activities", schema=None) as batch_op:
            batch_op.drop_index("ix_activities_dedupe_key")
            batch_op.create_unique_constraint("uq_activities_dedupe_key", ["dedupe_key"])
    else:
        _rebuild(bind, partitioned=False)
    op.drop_table("activity_keys")


def _rebuild(bind: sa.Connection, *, partitioned: bool) -> None:
    """Copy `activities` into a new table of the other kind (partitioned by month, or plain) with
    the same columns, rows, indexes, foreign keys and id sequence."""
    q = bind.exec_driver_sql
    seq = bind.scalar(sa.text("SELECT pg_get_serial_sequence('activities', 'id')"))
    indexes = [
        (name, definition)
        for name, definition in bind.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activities' "
                "AND schemaname = current_schema() AND indexname NOT IN "
                "('pk_activities', 'uq_activities_dedupe_key', 'ix_activities_dedupe_key')"
            )
        )
    ]
    foreign = list(
        bind.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'activities'::regclass AND contype = 'f' AND conparentid = 0"
            )
        )
    )
    q(f"ALTER SEQUENCE {seq} OWNED BY NONE")
    q("ALTER TABLE activities RENAME TO activities_old")
    for name in (
        *(n for n, _ in indexes),
        "pk_activities",
        "uq_activities_dedupe_key",
        "ix_activities_dedupe_key",
    ):
        q(f"ALTER INDEX IF EXISTS {name} RENAME TO {name}_old")
    for name, _ in foreign:
        q(f"ALTER TABLE activities_old RENAME CONSTRAINT {name} TO {name}_old")
    if partitioned:
        q("CREATE TABLE activities (LIKE activities_old INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)")
        q(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF activities DEFAULT")
        today = datetime.now(UTC).date()
        oldest = bind.scalar(sa.text("SELECT min(occurred_at) FROM activities_old"))
        floor = partitions.month_of(today)
        for _ in range(partitions.HISTORY_MONTHS):
            floor = partitions.month_of(floor - timedelta(days=1))
        first = max(floor, partitions.month_of(oldest.date())) if oldest else partitions.month_of(today)
        last = partitions.month_of(today)
        for _ in range(partitions.AHEAD_MONTHS):
            last = partitions.next_month(last)
        partitions.ensure(bind, partitions.months(first, last))
    else:
        q("CREATE TABLE activities (LIKE activities_old INCLUDING DEFAULTS)")
    q("INSERT INTO activities SELECT * FROM activities_old")
    q("DROP TABLE activities_old CASCADE")
    q(f"ALTER SEQUENCE {seq} OWNED BY activities.id")
    if partitioned:
        q("ALTER TABLE activities ADD CONSTRAINT pk_activities PRIMARY KEY (id, occurred_at)")
        q("CREATE INDEX ix_activities_dedupe_key ON activities (dedupe_key)")
    else:
        q("ALTER TABLE activities ADD CONSTRAINT pk_activities PRIMARY KEY (id)")
        q("ALTER TABLE activities ADD CONSTRAINT uq_activities_dedupe_key UNIQUE (dedupe_key)")
    for _, definition in indexes:
        q(definition)
    for name, definition in foreign:
        q(f"ALTER TABLE activities ADD CONSTRAINT {name} {definition}")
