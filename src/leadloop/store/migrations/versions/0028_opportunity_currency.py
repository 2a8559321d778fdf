"""opportunities carry their currency

Attribution sums revenue per currency and never adds two together: each opportunity says its
ISO 4217 code; one without (every row before this) is read in the configured default currency.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("currency")
