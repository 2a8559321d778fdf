"""report facts: a row per lead and per opportunity for the reports, and the refresh's watermark

Issue 15: the funnel, audit, ROI, speed, SLA, forecast and capacity reports group these rows
instead of scanning the activity log per page view (ADR 0036). The stage history gains an index on
`recorded_at`, so the refresh finds the leads that moved since its watermark.

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadloop.store.types

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

T = leadloop.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "lead_facts",
        sa.Column("lead_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=200), nullable=True),
        sa.Column("cohort", sa.String(length=7), nullable=False),
        sa.Column("opened_at", T(), nullable=False),
        sa.Column("first_seen_at", T(), nullable=False),
        sa.Column("furthest", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Boolean(), nullable=False),
        sa.Column("mql_at", T(), nullable=True),
        sa.Column("sal_at", T(), nullable=True),
        sa.Column("sql_at", T(), nullable=True),
        sa.Column("opp_at", T(), nullable=True),
        sa.Column("won_at", T(), nullable=True),
        sa.Column("h_inquiry", sa.Integer(), nullable=True),
        sa.Column("h_mql", sa.Integer(), nullable=True),
        sa.Column("h_sal", sa.Integer(), nullable=True),
        sa.Column("h_sql", sa.Integer(), nullable=True),
        sa.Column("h_opportunity", sa.Integer(), nullable=True),
        sa.Column("handed", sa.Boolean(), nullable=False),
        sa.Column("assigned_at", T(), nullable=True),
        sa.Column("assigned_week", sa.String(length=10), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("rejected_reason", sa.String(length=100), nullable=True),
        sa.Column("within_sla", sa.Boolean(), nullable=False),
        sa.Column("sla_due_at", T(), nullable=True),
        sa.Column("first_touch_at", T(), nullable=True),
        sa.Column("response_minutes", sa.Integer(), nullable=True),
        sa.Column("bucket", sa.String(length=12), nullable=True),
        sa.Column("recycled", sa.Boolean(), nullable=False),
        sa.Column("reactivated", sa.Boolean(), nullable=False),
        sa.Column("sales_touches", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_lead_facts_lead_id_leads")),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_facts")),
    )
    with op.batch_alter_table("lead_facts") as batch:
        batch.create_index("ix_lead_facts_opened_at", ["opened_at"], unique=False)
        batch.create_index("ix_lead_facts_campaign_opened", ["campaign_id", "opened_at"], unique=False)
        batch.create_index("ix_lead_facts_account_id", ["account_id"], unique=False)
        batch.create_index("ix_lead_facts_assigned_at", ["assigned_at"], unique=False)
    op.create_table(
        "opportunity_facts",
        sa.Column("opp_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("product", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("closed_at", T(), nullable=True),
        sa.Column("stage", sa.String(length=50), nullable=True),
        sa.Column("close_month", sa.String(length=7), nullable=True),
        sa.Column("months_seen", sa.Integer(), nullable=True),
        sa.Column("reactivated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opp_id"], ["opportunities.id"], name=op.f("fk_opportunity_facts_opp_id_opportunities")
        ),
        sa.PrimaryKeyConstraint("opp_id", name=op.f("pk_opportunity_facts")),
    )
    with op.batch_alter_table("opportunity_facts") as batch:
        batch.create_index("ix_opportunity_facts_lead_id", ["lead_id"], unique=False)
        batch.create_index("ix_opportunity_facts_outcome_closed", ["outcome", "closed_at"], unique=False)
    op.create_table(
        "facts_refresh",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("watermark", T(), nullable=False),
        sa.Column("full_at", T(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_facts_refresh")),
    )
    with op.batch_alter_table("lead_stage_changes") as batch:
        batch.create_index("ix_lead_stage_changes_recorded_at", ["recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead_stage_changes") as batch:
        batch.drop_index("ix_lead_stage_changes_recorded_at")
    op.drop_table("facts_refresh")
    op.drop_table("opportunity_facts")
    op.drop_table("lead_facts")
