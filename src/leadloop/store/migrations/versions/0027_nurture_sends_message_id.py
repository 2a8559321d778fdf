"""nurture sends keep their Message-ID

A reply names the message it answers (In-Reply-To, References): the Message-ID each drip e-mail
went out with is kept beside its send, so a reply from any address ends that enrolment.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nurture_sends") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=100), nullable=True))
        batch.create_index(batch.f("ix_nurture_sends_message_id"), ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nurture_sends") as batch:
        batch.drop_index(batch.f("ix_nurture_sends_message_id"))
        batch.drop_column("message_id")
