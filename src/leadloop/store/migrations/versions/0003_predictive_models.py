"""predictive models

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadloop.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "predictive_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("trained_on", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_predictive_models")),
    )
    with op.batch_alter_table("predictive_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_predictive_models_status"), ["status"], unique=False)

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predicted", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("predicted")

    with op.batch_alter_table("predictive_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_predictive_models_status"))

    op.drop_table("predictive_models")
