"""attribution's credits kept per opportunity (opportunity_credits, their rollup, opportunity_paths)

Issue 15, ADR 0048. The facts' refresh keeps each won and open opportunity's credit per group under
every fixed-rule model, and every opportunity's windowed touches for the Markov model; attribution
and ROI read them instead of the activity log. `facts_refresh` gains the newest activity a refresh
saw, so that the next finds the activities added since, and a digest of the campaigns' channels the
credits were built with. The next refresh builds them (a refresh without the
"credits" row in `facts_refresh` is a full one); until then the reports read the log as before.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import leadloop.store.types

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "full_path", "time_decay")


def upgrade() -> None:
    op.create_table(
        "opportunity_credits",
        sa.Column("by_kind", sa.String(8), nullable=False),
        sa.Column("dated", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("opp_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("grp", sa.String(2048), nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("touches", sa.Integer, nullable=False),
        *(sa.Column(m, sa.BigInteger, nullable=False) for m in MODELS),
        sa.PrimaryKeyConstraint("by_kind", "dated", "opp_id", "seq", name=op.f("pk_opportunity_credits")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_opportunity_credits_opp_id", "opportunity_credits", ["opp_id"])
    op.create_table(
        "opportunity_credit_cube",
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("by_kind", sa.String(8), nullable=False),
        sa.Column("grp", sa.String(2048), nullable=False),
        sa.Column("campaign_id", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        *(sa.Column(m, sa.BigInteger, nullable=False) for m in ("amount", "touches", *MODELS)),
    )
    op.create_index(
        "ix_opportunity_credit_cube_period", "opportunity_credit_cube", ["by_kind", "grain", "period"]
    )
    op.create_table(
        "opportunity_paths",
        sa.Column("dated", leadloop.store.types.UTCDateTime(), nullable=False),
        sa.Column("opp_id", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("touches", sa.Integer, nullable=False),
        sa.Column("campaign_ids", sa.LargeBinary, nullable=False),
        sa.Column("channels", sa.Text, nullable=False),
        sa.Column("contents", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("dated", "opp_id", name=op.f("pk_opportunity_paths")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_opportunity_paths_opp_id", "opportunity_paths", ["opp_id"])
    with op.batch_alter_table("facts_refresh", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_mark", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("campaigns_key", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("facts_refresh", schema=None) as batch_op:
        batch_op.drop_column("campaigns_key")
        batch_op.drop_column("activity_mark")
    op.drop_index("ix_opportunity_paths_opp_id", table_name="opportunity_paths")
    op.drop_table("opportunity_paths")
    op.drop_index("ix_opportunity_credit_cube_period", table_name="opportunity_credit_cube")
    op.drop_table("opportunity_credit_cube")
    op.drop_index("ix_opportunity_credits_opp_id", table_name="opportunity_credits")
    op.drop_table("opportunity_credits")
    op.execute("DELETE FROM facts_refresh WHERE name = 'credits'")
