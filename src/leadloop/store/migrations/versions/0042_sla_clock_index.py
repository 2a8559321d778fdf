"""the SLA report's clocks from one covering index of leads

Issue 15. `ix_leads_assigned_at` (the assignment alone) becomes `ix_leads_sla_clocks`: the
assignment, then every column a clock is judged from, so the SLA report's range of a year's
assignments is read from the index without visiting the rows (1M leads: 1.45 s -> 0.62 s for the
read). The same leading column serves every other range on `assigned_at`.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

COLUMNS = [
    "assigned_at",
    "sla_due_at",
    "owner_user_id",
    "stage",
    "stage_changed_at",
    "first_touch_at",
    "accepted_at",
    "rejected_at",
    "id",
]


def upgrade() -> None:
    op.create_index("ix_leads_sla_clocks", "leads", COLUMNS)
    op.drop_index("ix_leads_assigned_at", table_name="leads")


def downgrade() -> None:
    op.create_index("ix_leads_assigned_at", "leads", ["assigned_at"])
    op.drop_index("ix_leads_sla_clocks", table_name="leads")
