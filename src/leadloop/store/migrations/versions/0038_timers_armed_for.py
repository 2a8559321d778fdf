"""timers.armed_for: the due time the job engine holds a job for (a horizon, ADR 0044)

Issue 20: on PostgreSQL a timer gets its procrastinate job only when it comes due within the
engine's horizon (ten minutes), not when it is armed months ahead: every job fetch walks the queue's
waiting jobs, and consent expiries, decay crossings and drip steps far ahead made that walk grow
with the warehouse. `armed_for` records which due time has a job, so the engine's arming round
finds the timers that need one. Pending timers due within the horizon already have theirs; jobs
deferred for later times are dropped (the arming round defers them again when they come near).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadloop.store.types

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timers") as batch_op:
        batch_op.add_column(sa.Column("armed_for", leadloop.store.types.UTCDateTime(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    # Ten minutes: jobs/engine.py HORIZON as it stood when this was written.
    op.execute(
        "UPDATE timers SET armed_for = due_at WHERE done_at IS NULL AND due_at <= now() + interval '10 minutes'"
    )
    op.execute(
        "DELETE FROM procrastinate_jobs WHERE task_name = 'leadloop.timer' AND status = 'todo'"
        " AND scheduled_at > now() + interval '10 minutes'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # the engine before 0038 expects a job for every timer
        op.execute(
            """
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args, scheduled_at)
SELECT 'timers', 'leadloop.timer', 1,
       jsonb_build_object('kind', kind, 'subject', subject,
                          'due_at', to_char(due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
       due_at
  FROM timers WHERE done_at IS NULL AND (armed_for IS NULL OR armed_for <> due_at)
"""
        )
    with op.batch_alter_table("timers") as batch_op:
        batch_op.drop_column("armed_for")
