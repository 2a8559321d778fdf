"""leads carry an expected value beside their predicted probability

Issue 16, item 5: probability times the deal size expected for the account's size band and product,
learned from won deals, and where that size comes from.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expected_value", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("expected_value_basis", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("expected_value_basis")
        batch_op.drop_column("expected_value")
