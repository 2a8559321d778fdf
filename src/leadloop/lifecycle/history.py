"""Reading a lead's stage history (the lifecycle writes it; see handlers.py) as the journey's rows,
with the names of who moved it and who owned it after each move, in one query."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from leadloop.lifecycle.journey import Change
from leadloop.store.tables import LeadStageChange, Partner, Team, User

# A row that moves the lead into its stage (model.arrives, in SQL; NULL-safe for a first row).
ARRIVAL = LeadStageChange.from_stage.is_distinct_from(LeadStageChange.to_stage)


def changes(session: Session, lead_id: int) -> list[Change]:
    """Every move of the lead in the order the lifecycle made them, so each row starts where the
    one before it ended (a CRM's close date may lie before a move recorded earlier)."""
    h = LeadStageChange
    by, owner = aliased(User), aliased(User)
    rows = session.execute(
        sa.select(
            h.at,
            h.from_stage,
            h.to_stage,
            h.trigger,
            h.reason,
            sa.func.coalesce(sa.func.nullif(by.name, ""), by.email),
            sa.func.coalesce(sa.func.nullif(owner.name, ""), owner.email, Team.name, Partner.name),
        )
        .outerjoin(by, by.id == h.by_user_id)
        .outerjoin(owner, owner.id == h.owner_user_id)
        .outerjoin(Team, Team.id == h.owner_team_id)
        .outerjoin(Partner, Partner.id == h.owner_partner_id)
        .where(h.lead_id == lead_id)
        .order_by(h.at, h.id)  # in the order things happened: an imported close date may be earlier
    ).all()
    return [Change(*r) for r in rows]
