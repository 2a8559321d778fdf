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
from leadloop.routing.whatif import EXPLAIN, Change, Route, classify, read
from leadloop.store.tables import Account, Lead, Partner, RoutingDecision, Team, User

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
    """The replay of past leads. `changed` (the headline) counts only rule changes: a lead a rule
    now sends elsewhere; `turns` counts leads that stay in the same pool with another member;
    `unavailable` those whose rule names the same pool or person, nobody of whom could take it then
    or now."""

    leads: int = 0
    changed: int = 0
    turns: int = 0
    unavailable: int = 0
    same: int = 0
    by_hand: int = 0
    by_owner: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str, str, str]] = field(default_factory=list)  # lead, account, was, would be
    turn_examples: list[tuple[int, str, str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "changed": self.changed,
            "turns": self.turns,
            "unavailable": self.unavailable,
            "same": self.same,
            "by_hand": self.by_hand,
            "explain": {str(k): v for k, v in EXPLAIN.items()},
            "by_owner": dict(self.by_owner.most_common()),
            "examples": self.examples[:10],
            "turn_examples": self.turn_examples[:5],
        }


def _hand_raised(session: Session, lead_ids: list[int]) -> set[int]:
    """Leads whose last routing was a hand-raise's fast track (it skips the desk, so a what-if must too)."""
    out: set[int] = set()
    for lead_id, path in session.execute(
        sa.select(RoutingDecision.lead_id, RoutingDecision.path).where(
            RoutingDecision.lead_id.in_(lead_ids), RoutingDecision.reason == "mql"
        )
    ):
        if (
            path
            and isinstance(path, list)
            and isinstance(path[0], dict)
            and path[0].get("step") == "hand-raise"
        ):
            out.add(lead_id)
    return out


def _last_assignments(session: Session, lead_ids: list[int]) -> dict[int, tuple[str, Route, str]]:
    """Who routing gave each lead to last, and by which route: the owner a what-if compares with
    (not today's owner, which an acceptance, a rejection or a cooling may have changed since)."""
    latest = (
        sa.select(sa.func.max(RoutingDecision.id))
        .where(RoutingDecision.lead_id.in_(lead_ids), RoutingDecision.reason.in_(repo.ASSIGNING))
        .group_by(RoutingDecision.lead_id)
    )
    out: dict[int, tuple[str, Route, str]] = {}
    for lead_id, email, team, partner, path, reason in session.execute(
        sa.select(
            RoutingDecision.lead_id,
            User.email,
            Team.name,
            Partner.name,
            RoutingDecision.path,
            RoutingDecision.reason,
        )
        .outerjoin(User, User.id == RoutingDecision.owner_user_id)
        .outerjoin(Team, Team.id == RoutingDecision.owner_team_id)
        .outerjoin(Partner, Partner.id == RoutingDecision.owner_partner_id)
        .where(RoutingDecision.id.in_(latest))
    ):
        out[lead_id] = (email or team or partner or "", read(path), reason)
    return out


def what_if(session: Session, rs: RuleSet, *, now: datetime, limit: int | None = REPLAY) -> WhatIf:
    """Route the latest `limit` routed leads again with `rs`, as of now; writes nothing. Pools
    start from their current fairness state and advance as the replay assigns. Each lead is
    compared with its last routing decision and classified (routing/whatif.py): the same owner,
    another turn of the same pool, nobody available where its rule points, an owner a person chose,
    or a rule that now sends it elsewhere."""
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
    last = _last_assignments(session, [lead.id for lead, _ in leads])
    raised = _hand_raised(session, [lead.id for lead, _ in leads])
    places = repo.places_of(session, [account for _, account in leads])
    for lead, account in leads:
        d = decide(
            rs,
            repo.facts_for(lead, account, places[account.id]),
            sticky=repo.sticky_owner(session, account),
            pools=pools,
            resolve=resolve,
            # As when it was routed: a lead the desk handed over is not sent back to it, and a
            # hand-raiser never went there.
            past_desk=lead.id in last
            and (last[lead.id][2] == "handover" or (last[lead.id][2] == "mql" and lead.id in raised)),
        )
        if d.pool is not None:
            pools[d.pool] = [
                c
                if c.user_id not in d.pool_credits
                else type(c)(**{**c.__dict__, "credit": d.pool_credits[c.user_id]})
                for c in pools[d.pool]
            ]
        if lead.owner_user_id:
            today = names.get(lead.owner_user_id, "")
        elif lead.owner_partner_id:
            today = partners.get(lead.owner_partner_id, "")
        else:
            today = teams.get(lead.owner_team_id or 0, "")
        if lead.id in last:
            current, was, why = last[lead.id]
            # A person's reassignment (no rule path), or a user owner that no decision gave it
            # (an import, a hand-over outside routing): the rules are not what to compare with.
            by_hand = (was.to is None and why in ("manual", "reassigned")) or (
                lead.owner_user_id is not None and today.casefold() != current.casefold()
            )
        else:
            # No decision gave it its owner (an import with owners, the demo story's worked deals,
            # routed before decisions were recorded): a member of the pool the rules pick now is
            # another turn of it; any other owner came from outside the rules, not from them.
            members = {c.email.casefold() for c in pools.get(d.pool, [])} if d.pool else set()
            current, was, by_hand = today, Route(), today.casefold() not in members
        out.leads += 1
        out.by_owner[d.name] += 1
        change = classify(
            was_owner=current,
            was=was,
            would_owner=d.name,
            would=read(d.path),
            pool_members=frozenset(c.email for c in pools.get(d.pool, [])) if d.pool else frozenset(),
            by_hand=by_hand,
        )
        if change is Change.RULE and lead.id in last and last[lead.id][2] in ("sla_reassign", "rep_removed"):
            # Its last owner came from passing someone over (an SLA lapse, a rep who left): the
            # replay cannot know whom, so a different answer is a different turn, not a rule change.
            change = Change.TURN
        if change is Change.RULE:
            out.changed += 1
            out.examples.append((lead.id, account.name, current, d.name))
        elif change is Change.TURN:
            out.turns += 1
            out.turn_examples.append((lead.id, account.name, current, d.name))
        elif change is Change.UNAVAILABLE:
            out.unavailable += 1
        elif change is Change.HAND:
            out.by_hand += 1
        else:
            out.same += 1
    return out
