"""an index for procrastinate's lock check, and statistics kept fresh on its job table

Issue 20: the 30-minute soak at 3 leads/s fell behind after nine minutes and never caught up. Each
job fetch (`procrastinate_fetch_job_v2`) checks, for every candidate with a lock (the outbox's
messages, `outbox:<key>`), that no earlier job holds the same lock; procrastinate's only index
with `lock` leads with `id`, so each check scanned it: with 40,000 jobs waiting, one fetch took
17 s (upstream: procrastinate issues #393, #1242). This index on (lock, id) for waiting and
running jobs makes the check a lookup (the same fetch: 59 ms with stale statistics, 0.1 ms with
fresh ones). The table churns through its rows in minutes, so its autovacuum and analyze
thresholds are set low; the engine's backstop also vacuums and analyzes it each minute
(jobs/engine.py), for servers where autovacuum is off.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 13:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS leadloop_procrastinate_jobs_lock_waiting ON procrastinate_jobs (lock, id)"
        " WHERE status IN ('todo', 'doing') AND lock IS NOT NULL"
    )
    op.execute(
        "ALTER TABLE procrastinate_jobs SET (autovacuum_vacuum_scale_factor = 0.01,"
        " autovacuum_analyze_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,"
        " autovacuum_analyze_threshold = 1000)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS leadloop_procrastinate_jobs_lock_waiting")
    op.execute(
        "ALTER TABLE procrastinate_jobs RESET (autovacuum_vacuum_scale_factor,"
        " autovacuum_analyze_scale_factor, autovacuum_vacuum_threshold, autovacuum_analyze_threshold)"
    )
