"""the reports' counts rollup (lead_cube, lead_cube_money) and covering indexes on lead_facts

Issue 15, ADR 0047. `leads` gains an index on `assigned_at` (the SLA report's range) and a covering
one for aging (open leads by owner and start); `lead_facts`
gains `opened_day`; the rollups hold per month and per day of
opening, per (source, campaign, product, team, rep, grade, rule), the counts and won money every
lead-based report sums. The facts' refresh state is cleared so that the next refresh rebuilds the
facts (writing `opened_day`) and the rollups; until then the reports read the facts as before.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

DIMS = ("source", "campaign_id", "product", "team_id", "owner_user_id", "grade", "rule")
COVERED = ("cohort", *DIMS, "account_id")
HOURS = ("h_inquiry", "h_mql", "h_sal", "h_sql", "h_opportunity")
MEASURES = (
    "leads",
    *(f"reached_{i}" for i in range(1, 6)),
    "recycled",
    "reactivated",
    "handed",
    "handed_accepted",
    "handed_rejected",
    "handed_within_sla",
    "handed_converted",
    "handed_won",
    "handed_touches",
    *(f"bucket_{b}_{m}" for b in range(6) for m in ("leads", "sal", "sql", "opp", "won")),
)


def _cells(*extra: sa.Column) -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("source", sa.String(100)),
        sa.Column("campaign_id", sa.Integer),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("team_id", sa.Integer),
        sa.Column("owner_user_id", sa.Integer),
        sa.Column("grade", sa.String(1)),
        sa.Column("rule", sa.String(200)),
        *extra,
    ]


def upgrade() -> None:
    with op.batch_alter_table("lead_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_day", sa.String(length=10), nullable=True))
    op.create_table("lead_cube", *_cells(*(sa.Column(m, sa.Integer, nullable=False) for m in MEASURES)))
    op.create_index("ix_lead_cube_grain_period", "lead_cube", ["grain", "period"])
    op.create_table(
        "lead_cube_money",
        *_cells(
            sa.Column("currency", sa.String(3), nullable=False),
            sa.Column("handed_won_amount", sa.Numeric(18, 2), nullable=False),
        ),
    )
    op.create_index("ix_lead_cube_money_grain_period", "lead_cube_money", ["grain", "period"])
    for col in HOURS:
        op.create_index(
            f"ix_lead_facts_{col}",
            "lead_facts",
            ["cohort", col, "opened_at", *COVERED[1:]],
            sqlite_where=sa.text(f"{col} IS NOT NULL"),
            postgresql_where=sa.text(f"{col} IS NOT NULL"),
        )
    op.create_index(
        "ix_lead_facts_capacity",
        "lead_facts",
        [
            "opened_at",
            "cohort",
            "owner_user_id",
            "assigned_week",
            "response_minutes",
            "within_sla",
            "campaign_id",
            "product",
            "team_id",
            "account_id",
        ],
        sqlite_where=sa.text("owner_user_id IS NOT NULL AND assigned_week IS NOT NULL"),
        postgresql_where=sa.text("owner_user_id IS NOT NULL AND assigned_week IS NOT NULL"),
    )
    op.create_index(
        "ix_lead_facts_rejected_reason",
        "lead_facts",
        ["opened_at", "rejected_reason", *COVERED, "handed", "rejected"],
        sqlite_where=sa.text("handed IS 1 AND rejected IS 1"),
        postgresql_where=sa.text("handed IS true AND rejected IS true"),
    )
    op.drop_index("ix_opportunity_facts_outcome_closed", table_name="opportunity_facts")
    op.create_index(
        "ix_opportunity_facts_outcome_closed",
        "opportunity_facts",
        ["outcome", "closed_at", "lead_id", "currency", "amount", "reactivated", "months_seen"],
    )
    op.create_index("ix_leads_assigned_at", "leads", ["assigned_at"])
    op.create_index(
        "ix_leads_aging",
        "leads",
        [
            "stage",
            "owner_user_id",
            "owner_team_id",
            "assigned_at",
            "mql_at",
            "opened_at",
            "product",
            "campaign_id",
            "account_id",
        ],
    )
    op.execute("DELETE FROM facts_refresh")


def downgrade() -> None:
    op.drop_index("ix_opportunity_facts_outcome_closed", table_name="opportunity_facts")
    op.create_index("ix_opportunity_facts_outcome_closed", "opportunity_facts", ["outcome", "closed_at"])
    op.drop_index("ix_leads_aging", table_name="leads")
    op.drop_index("ix_leads_assigned_at", table_name="leads")
    op.drop_index("ix_lead_facts_rejected_reason", table_name="lead_facts")
    op.drop_index("ix_lead_facts_capacity", table_name="lead_facts")
    for col in HOURS:
        op.drop_index(f"ix_lead_facts_{col}", table_name="lead_facts")
    op.drop_table("lead_cube_money")
    op.drop_table("lead_cube")
    with op.batch_alter_table("lead_facts", schema=None) as batch_op:
        batch_op.drop_column("opened_day")
    op.execute("DELETE FROM facts_refresh")
