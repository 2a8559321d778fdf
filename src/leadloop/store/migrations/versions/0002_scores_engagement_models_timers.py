"""Scores on people and leads, account engagement, scoring models, timers.

New NOT NULL columns get server defaults so that a populated warehouse upgrades in place.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadloop.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scoring_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("activated_at", leadloop.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_models")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_scoring_models_name_version")),
    )
    with op.batch_alter_table("scoring_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scoring_models_status"), ["status"], unique=False)

    op.create_table(
        "timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("due_at", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("claimed_at", leadloop.store.types.UTCDateTime(), nullable=True),
        sa.Column("done_at", leadloop.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_timers_kind_subject")),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_pending", ["done_at", "due_at"], unique=False)

    op.create_table(
        "account_engagement",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("s", sa.Double(), nullable=False),
        sa.Column("t0", sa.Double(), nullable=False),
        sa.Column("key", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_engagement_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "product", name=op.f("pk_account_engagement")),
    )
    with op.batch_alter_table("account_engagement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_engagement_key"), ["key"], unique=False)

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fit_score", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("grade", sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column("engagement_s", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("engagement_t0", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("engagement_key", sa.Double(), nullable=False, server_default="-1e300"))
        batch_op.add_column(
            sa.Column(
                "buying_roles",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="[]",
            )
        )
        batch_op.add_column(sa.Column("mql_at", leadloop.store.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_engagement_key"), ["engagement_key"], unique=False)

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fit_score", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("grade", sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column("excluded_by", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("engagement_s", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("engagement_t0", sa.Double(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("engagement_key", sa.Double(), nullable=False, server_default="-1e300"))
        batch_op.create_index(batch_op.f("ix_people_engagement_key"), ["engagement_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_engagement_key"))
        batch_op.drop_column("engagement_key")
        batch_op.drop_column("engagement_t0")
        batch_op.drop_column("engagement_s")
        batch_op.drop_column("excluded_by")
        batch_op.drop_column("grade")
        batch_op.drop_column("fit_score")

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_engagement_key"))
        batch_op.drop_column("mql_at")
        batch_op.drop_column("buying_roles")
        batch_op.drop_column("engagement_key")
        batch_op.drop_column("engagement_t0")
        batch_op.drop_column("engagement_s")
        batch_op.drop_column("grade")
        batch_op.drop_column("fit_score")

    with op.batch_alter_table("account_engagement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_engagement_key"))

    op.drop_table("account_engagement")
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index("ix_timers_pending")

    op.drop_table("timers")
    with op.batch_alter_table("scoring_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scoring_models_status"))

    op.drop_table("scoring_models")
