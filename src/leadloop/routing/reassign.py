"""A manager hands one or many leads to another rep, with a reason. Audited like any routing
decision (a `routing_decisions` row per lead, the stage history through the lifecycle, which is the
only writer of the owner) and in the security audit log; the new owner gets the SLA clock and the
notification a routed lead gets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import Scope
from leadloop.access.repository import lead_clause, reports_of
from leadloop.auth import audit
from leadloop.auth.model import MANAGERS, Principal, Role
from leadloop.core.errors import InvalidInput, NotFound, PermissionDenied
from leadloop.core.events import Event, LeadAssigned
from leadloop.core.reactions import publish
from leadloop.lifecycle.model import OPEN
from leadloop.routing import repository as repo
from leadloop.routing.handlers import _apply
from leadloop.routing.rules import Decision, sla_policy
from leadloop.store.tables import Account, Lead, Team, User

MAX_LEADS = 1000  # one request; a larger move is a routing rule's job, or several requests
MAX_REASON = 300
OWNER_ROLES = frozenset({Role.REP, Role.BDR, Role.MANAGER, Role.ADMIN})  # who can own a lead as a user


@dataclass
class Reassigned:
    owner: str
    moved: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)  # already theirs: nothing to do


def check_request(lead_ids: Sequence[int], reason: str) -> tuple[list[int], str]:
    """The lead ids (each once, in the order given) and the reason, or a sentence saying what to fix."""
    ids = list(dict.fromkeys(lead_ids))
    if not ids:
        raise InvalidInput("lead_ids: choose at least one lead to reassign")
    if len(ids) > MAX_LEADS:
        raise InvalidInput(f"lead_ids: at most {MAX_LEADS:,} leads at a time ({len(ids):,} given)")
    text = " ".join(reason.split())
    if not text:
        raise InvalidInput("reason: say why the leads change hands (it is kept in the routing audit)")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters ({len(text)} given)")
    return ids, text


def owner_refusal(
    *, active: bool, role: str, email: str, away_until: datetime | None, in_line: bool
) -> str | None:
    """Why this user cannot take leads now (None: they can). Pure."""
    if not active:
        return f"owner_id: {email} is inactive; choose an active rep"
    if role not in OWNER_ROLES:
        return f"owner_id: {email} is a {role} user and cannot own a lead; choose a rep or a manager"
    if away_until is not None:
        return (
            f"owner_id: {email} is out of office until {away_until:%Y-%m-%d %H:%M} UTC; "
            "choose someone who is in, or wait until they are back"
        )
    if not in_line:
        return f"owner_id: {email} is not in your teams; a manager reassigns only to people below them"
    return None


def reassign(
    session: Session,
    lead_ids: Sequence[int],
    owner_id: int,
    reason: str,
    *,
    who: Principal,
    scope: Scope,
    now: datetime,
) -> Reassigned:
    if who.role not in MANAGERS:
        raise PermissionDenied("only a manager or an admin may reassign leads")
    ids, reason = check_request(lead_ids, reason)
    target = session.get(User, owner_id)
    if target is None:
        raise InvalidInput(f"owner_id: there is no user #{owner_id}")
    line = None if who.role is Role.ADMIN else reports_of(session, who.user_id) | {who.user_id}
    away = repo.away_spans(session, {target.id}, now)
    until = max((b for a, b in away.get(target.id, []) if a <= now < b), default=None)
    refusal = owner_refusal(
        active=target.active,
        role=target.role,
        email=target.email,
        away_until=until,
        in_line=line is None or target.id in line,
    )
    if refusal:
        raise InvalidInput(refusal)
    q = sa.select(Lead).where(Lead.id.in_(ids), lead_clause(scope)).order_by(Lead.id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    leads = {lead.id: lead for lead in session.scalars(q)}
    missing = [i for i in ids if i not in leads]
    if missing:
        raise NotFound(
            "there is no lead "
            + ", ".join(f"#{i}" for i in missing[:10])
            + ("…" if len(missing) > 10 else "")
        )
    if line is not None:
        outside = [lead.id for lead in leads.values() if not _from_line(lead, line, scope.queues)]
        if outside:
            raise PermissionDenied(
                "a manager reassigns only leads owned by their teams or waiting in a sales queue; not: "
                + ", ".join(f"#{i}" for i in outside[:10])
            )
    rs, _ = repo.active_rules(session)
    out = Reassigned(target.email)
    events: list[Event] = []
    for lead_id in ids:
        lead = leads[lead_id]
        if lead.owner_user_id == target.id:
            out.already.append(lead_id)
            continue
        account = session.get_one(Account, lead.account_id)
        decision = Decision(
            kind="user",
            name=target.email,
            user_id=target.id,
            summary=f"reassigned by {who.email}: {reason}",
            path=[{"step": "reassigned", "result": target.email, "why": f"{who.email}: {reason}"}],
        )
        events.extend(
            _apply(
                session,
                lead,
                account,
                decision,
                rs_id=None,
                reason="reassigned",
                now=now,
                policy=sla_policy(rs, repo.facts_for(lead, account, repo.place_of(session, account))),
                away=away,
                by_user_id=who.user_id,
            )
        )
        events.append(LeadAssigned(lead.id, target.email, "reassigned", now))
        out.moved.append(lead_id)
    audit.record(
        session,
        "leads.reassigned",
        at=now,
        actor_user_id=who.user_id,
        subject=target.email,
        detail={"leads": out.moved, "already_theirs": out.already, "reason": reason},
    )
    publish(session, events, now=now)
    return out


def _from_line(lead: Lead, line: set[int], queues: frozenset[int]) -> bool:
    """Owned by someone below them, or waiting in a sales queue they see; not a lead they see only
    because one of their people once had it (now in nurture, or with another team)."""
    if lead.owner_user_id is not None:
        return lead.owner_user_id in line
    return lead.owner_team_id is not None and lead.owner_team_id in queues


@dataclass(frozen=True)
class Candidate:
    """Someone leads may be handed to, with what a manager weighs: their team and their load."""

    id: int
    name: str
    email: str
    team: str | None
    open_leads: int


def candidates(session: Session, who: Principal) -> list[Candidate]:
    """Whom this person may hand leads to: an admin anyone active who can own a lead; a manager
    themself and the people below them. With each one's team and open leads (MQL to SQL)."""
    q = (
        sa.select(User.id, User.name, User.email, Team.name, sa.func.count(Lead.id))
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(Lead, sa.and_(Lead.owner_user_id == User.id, Lead.stage.in_(sorted(OPEN))))
        .where(User.active, User.role.in_(sorted(OWNER_ROLES)))
        .group_by(User.id, User.name, User.email, Team.name)
        .order_by(User.name, User.id)
    )
    if who.role is not Role.ADMIN:
        q = q.where(User.id.in_(reports_of(session, who.user_id) | {who.user_id}))
    return [Candidate(i, name, email, team, n) for i, name, email, team, n in session.execute(q)]
