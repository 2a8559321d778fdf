"""record edits: who changed which field of a person or an account by hand

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 02:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadloop.store.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("at", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"], ["users.id"], name=op.f("fk_record_edits_by_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_edits")),
    )
    op.create_index("ix_record_edits_entity_at", "record_edits", ["entity", "entity_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_record_edits_entity_at", table_name="record_edits")
    op.drop_table("record_edits")
