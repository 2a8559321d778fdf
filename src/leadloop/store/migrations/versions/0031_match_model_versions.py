"""match models become versions: draft, active, retired

Issue 17: a re-fit of the matcher is stored as a draft, shown as a what-if, and activated; the
real-time matcher and the warehouse pass use the one active model (ADR 0039). Until now the newest
row was used: it becomes the active one, the older ones retired.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadloop.store.types

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_models", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), nullable=False, server_default="retired")
        )
        batch_op.add_column(sa.Column("people", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("activated_at", leadloop.store.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_match_models_status"), ["status"], unique=False)
    models = sa.table(
        "match_models",
        sa.column("id"),
        sa.column("status"),
        sa.column("activated_at"),
        sa.column("created_at"),
    )
    newest = sa.select(sa.func.max(models.c.id)).scalar_subquery()
    op.execute(
        sa.update(models)
        .where(models.c.id == newest)
        .values(status="active", activated_at=models.c.created_at)
    )
    with op.batch_alter_table("match_models", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("match_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_models_status"))
        batch_op.drop_column("activated_at")
        batch_op.drop_column("people")
        batch_op.drop_column("status")
