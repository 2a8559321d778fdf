"""the web form's durable intake

Issue 19: a posted form is written at once as it came and landed in batches (capture/spool.py).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadloop.store.types

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_intake",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("received_at", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("body", leadloop.store.types.JSONType, nullable=False),
        sa.Column("payload", leadloop.store.types.JSONType, nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("claimed_until", leadloop.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_intake")),
    )
    op.create_index(op.f("ix_form_intake_claimed_until"), "form_intake", ["claimed_until"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_form_intake_claimed_until"), table_name="form_intake")
    op.drop_table("form_intake")
