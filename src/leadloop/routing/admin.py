"""Routing rule sets as versioned data (the machine is documents/): try a rule set on past leads
(what-if: who would have got them, nothing written), and activation's own check that every user
it names exists."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import InvalidInput
from leadloop.documents.model import Activation, NothingToReport
from leadloop.routing import repository as repo
from leadloop.routing.document import RuleSet
from leadloop.routing.rules import decide
from leadloop.store.tables import Account, Lead, Partner, Team, User

REPLAY = 1000  # the latest routed leads a what-if replays, unless told otherwise


def activate(session: Session, rs: RuleSet, *, now: datetime) -> Activation:
    """New MQLs route with the rule set as soon as it is active; only its users must exist first."""
    known = repo.users_by_email(session, rs.users())
    missing = sorted(rs.users() - set(known))
    if missing:
        raise InvalidInput(
            "these users do not exist: " + ", ".join(missing) + "; create them or fix the rule set"
        )
    return Activation(NothingToReport(), [])


@dataclass
class WhatIf:
    leads: int = 0
    changed: int = 0
    by_owner: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str, str, str]] = field(default_factory=list)  # lead, account, now, would be

    def summary(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "changed": self.changed,
            "by_owner": dict(self.by_owner.most_common()),
            "examples": self.examples[:10],
        }


def what_if(session: Session, rs: RuleSet, *, now: datetime, limit: int | None = REPLAY) -> WhatIf:
    """Route the latest `limit` routed leads again with `rs`, as of now; writes nothing. Pools
    start from their current fairness state and advance as the replay assigns."""
    users = repo.users_by_email(session, rs.users())
    away = repo.away_spans(session, {u.id for u in users.values()}, now)
    resolve = {e: (u.id, None if u.active else "inactive") for e, u in users.items()}
    pools = repo.pool_candidates(session, rs, users, away, now, for_update=False)
    names = {u.id: u.email for u in session.scalars(sa.select(User))}
    teams: dict[int, str] = {i: n for i, n in session.execute(sa.select(Team.id, Team.name))}
    partners: dict[int, str] = {i: n for i, n in session.execute(sa.select(Partner.id, Partner.name))}
    out = WhatIf()
    leads = session.execute(
        sa.select(Lead, Account)
        .join(Account, Account.id == Lead.account_id)
        .where(Lead.assigned_at.is_not(None))
        .order_by(Lead.assigned_at.desc())
        .limit(limit or REPLAY)
    ).all()
    for lead, account in leads:
        d = decide(
            rs,
            repo.facts_for(lead, account),
            sticky=repo.sticky_owner(session, account),
            pools=pools,
            resolve=resolve,
        )
        if d.pool is not None:
            pools[d.pool] = [
                c
                if c.user_id not in d.pool_credits
                else type(c)(**{**c.__dict__, "credit": d.pool_credits[c.user_id]})
                for c in pools[d.pool]
            ]
        if lead.owner_user_id:
            current = names.get(lead.owner_user_id, "")
        elif lead.owner_partner_id:
            current = partners.get(lead.owner_partner_id, "")
        else:
            current = teams.get(lead.owner_team_id or 0, "")
        would = d.name
        out.leads += 1
        out.by_owner[would] += 1
        # A pool that still holds today's owner is the same route: only the turn differs, as the
        # replay starts from today's fairness state, not from the one each lead met.
        same_pool = d.pool is not None and any(c.user_id == lead.owner_user_id for c in pools[d.pool])
        if would != current and not same_pool:
            out.changed += 1
            out.examples.append((lead.id, account.name, current, would))
    return out
