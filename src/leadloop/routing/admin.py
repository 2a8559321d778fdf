"""Routing rule sets as versioned data: save a draft (validated), try it on past leads (what-if:
who would have got them, nothing written), activate (every named user must exist)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import InvalidInput, NotFound
from leadloop.routing import repository as repo
from leadloop.routing.document import RuleSet, parse_rules
from leadloop.routing.rules import decide
from leadloop.store.tables import Account, Lead, RoutingRuleSet, User


def save_draft(session: Session, text: str, *, now: datetime) -> tuple[int, list[str]]:
    """Returns the draft's id and the warnings (e.g. no catch-all rule)."""
    rs = parse_rules(text)
    rid = RoutingRuleSet.add_draft(
        session, name=rs.name, version=rs.version, text=text, now=now, what="rule set"
    )
    return rid, rs.warnings()


def _load(session: Session, ruleset_id: int) -> tuple[RoutingRuleSet, RuleSet]:
    row = session.get(RoutingRuleSet, ruleset_id)
    if row is None:
        raise NotFound(f"there is no routing rule set #{ruleset_id}")
    return row, parse_rules(row.document)


def _check_users(session: Session, rs: RuleSet) -> None:
    known = repo.users_by_email(session, rs.users())
    missing = sorted(rs.users() - set(known))
    if missing:
        raise InvalidInput(
            "these users do not exist: " + ", ".join(missing) + "; create them or fix the rule set"
        )


def activate(session: Session, ruleset_id: int, *, now: datetime) -> RuleSet:
    row, rs = _load(session, ruleset_id)
    _check_users(session, rs)
    session.execute(
        sa.update(RoutingRuleSet).where(RoutingRuleSet.status == "active").values(status="retired")
    )
    row.status, row.activated_at = "active", now
    return rs


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


def what_if(session: Session, rs: RuleSet, *, now: datetime, limit: int = 1000) -> WhatIf:
    """Route the latest `limit` routed leads again with `rs`, as of now; writes nothing. Pools
    start from their current fairness state and advance as the replay assigns."""
    users = repo.users_by_email(session, rs.users())
    away = repo.away_spans(session, {u.id for u in users.values()}, now)
    resolve = {e: (u.id, None if u.active else "inactive") for e, u in users.items()}
    pools = repo.pool_candidates(session, rs, users, away, now, for_update=False)
    names = {u.id: u.email for u in session.scalars(sa.select(User))}
    out = WhatIf()
    leads = session.execute(
        sa.select(Lead, Account)
        .join(Account, Account.id == Lead.account_id)
        .where(Lead.assigned_at.is_not(None))
        .order_by(Lead.assigned_at.desc())
        .limit(limit)
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
        current = names.get(lead.owner_user_id, "") if lead.owner_user_id else "a queue or partner"
        would = d.name
        out.leads += 1
        out.by_owner[would] += 1
        if would != current:
            out.changed += 1
            out.examples.append((lead.id, account.name, current, would))
    return out
