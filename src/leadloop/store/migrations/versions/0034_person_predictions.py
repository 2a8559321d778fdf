"""people carry their own predicted probability

Issue 16, item 2: predictions per person from the person's own features, beside the leads'.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predicted", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "predicted_why",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("predicted_why")
        batch_op.drop_column("predicted")
