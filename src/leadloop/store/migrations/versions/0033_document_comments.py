"""comments on saved versions of versioned documents

Issue 16, item 6: sales managers write draft scoring models and comment on them; marketing or
admins activate. A comment names the document kind and the version's id in that kind's table.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadloop.store.types

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_document_comments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_comments")),
    )
    op.create_index(
        "ix_document_comments_document", "document_comments", ["kind", "document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_document_comments_document", table_name="document_comments")
    op.drop_table("document_comments")
