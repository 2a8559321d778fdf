"""Loading someone's scope, and the scope as SQL: every list, page, search and report filters with
these clauses, so what one path hides no other path shows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import Scope, may_edit, may_work, scope_for
from leadloop.auth.model import Principal, Role
from leadloop.core.errors import NotFound, PermissionDenied
from leadloop.lifecycle.repository import BDR_QUEUE, NURTURE_QUEUE
from leadloop.store.tables import Account, Lead, Person, RoutingDecision, Team, User


def scope_of(session: Session, who: Principal, *, share_team: bool = True) -> Scope:
    if who.role in (Role.ADMIN, Role.MARKETING):
        return Scope(everything=True)
    me = session.get(User, who.user_id)
    if me is None:
        return Scope()
    mates = (
        set(session.scalars(sa.select(User.id).where(User.team_id == me.team_id))) if me.team_id else set()
    )
    queues = dict(
        session.execute(sa.select(Team.name, Team.id).where(Team.is_queue, Team.name != NURTURE_QUEUE)).all()
    )
    desk = {queues.pop(BDR_QUEUE)} if BDR_QUEUE in queues else set()
    return scope_for(
        who.role,
        who.user_id,
        team_mates=mates,
        reports=reports_of(session, who.user_id) if who.role is Role.MANAGER else (),
        sales_queues=set(queues.values()),
        share_team=share_team,
        partner_id=me.partner_id,
        desk_queues=desk,
    )


def reports_of(session: Session, manager_id: int) -> set[int]:
    """Everyone below a manager, all the way down (one query per level)."""
    found: set[int] = set()
    level = {manager_id}
    while level:
        below = (
            set(session.scalars(sa.select(User.id).where(User.manager_id.in_(level)))) - found - {manager_id}
        )
        found |= below
        level = below
    return found


def managers_of(session: Session, user_id: int) -> list[int]:
    """The manager chain above a user (a loop in it ends the walk)."""
    chain: list[int] = []
    current = session.scalar(sa.select(User.manager_id).where(User.id == user_id))
    while current is not None and current not in chain and current != user_id:
        chain.append(current)
        current = session.scalar(sa.select(User.manager_id).where(User.id == current))
    return chain


def lead_clause(scope: Scope) -> sa.ColumnElement[bool]:
    if scope.everything:
        return sa.true()
    clauses = [
        Lead.owner_user_id.in_(scope.users or {-1}),
        Lead.owner_team_id.in_(scope.queues or {-1}),
        Lead.owner_partner_id == (scope.partner_id if scope.partner_id is not None else -1),
    ]
    if scope.held:  # a routing decision named one of them as the owner (ix_routing_decisions_owner_at)
        held = sa.select(RoutingDecision.lead_id).where(RoutingDecision.owner_user_id.in_(scope.held))
        clauses.append(Lead.id.in_(held))
    return sa.or_(*clauses)


def account_clause(scope: Scope) -> sa.ColumnElement[bool]:
    if scope.everything:
        return sa.true()
    return sa.or_(
        Account.id.in_(sa.select(Lead.account_id).where(lead_clause(scope))),
        Account.owner_user_id.in_(scope.users or {-1}),
    )


def person_clause(scope: Scope) -> sa.ColumnElement[bool]:
    if scope.everything:
        return sa.true()
    return Person.account_id.in_(sa.select(Account.id).where(account_clause(scope)))


def visible(
    session: Session, scope: Scope, entity: type[Lead] | type[Account] | type[Person], row_id: int
) -> bool:
    clause = {Lead: lead_clause, Account: account_clause, Person: person_clause}[entity](scope)
    return session.scalar(sa.select(entity.id).where(entity.id == row_id, clause)) is not None


_NOUN = {Lead: "lead", Account: "account", Person: "person"}


def require_visible(
    session: Session, scope: Scope, entity: type[Lead] | type[Account] | type[Person], row_id: int
) -> None:
    """Not found, whether it does not exist or is someone else's: ids are not a way to enumerate."""
    if not visible(session, scope, entity, row_id):
        raise NotFound(f"there is no {_NOUN[entity]} #{row_id}")


def require_worker(session: Session, who: Principal, lead: Lead, *, doing: str) -> None:
    """Only the owner, a manager above the owner, or an admin may work a lead."""
    require_may_work(session, who.role, who.user_id, lead, doing=doing)


def require_may_work(session: Session, role: Role, user_id: int, lead: Lead, *, doing: str) -> None:
    """The one check behind every "work this lead" action (a call stops the owner's SLA clock)."""
    chain = managers_of(session, lead.owner_user_id) if lead.owner_user_id is not None else []
    if not may_work(role, user_id, lead.owner_user_id, chain):
        raise PermissionDenied(f"only the lead's owner, a manager above them or an admin may {doing} it")


def visible_ids(scope: Scope, entity: type[Account] | type[Person]) -> sa.Select[Any] | None:
    """The ids of the people (or accounts) someone may see, as a subquery; None: all of them."""
    if scope.everything:
        return None
    clause = person_clause(scope) if entity is Person else account_clause(scope)
    return sa.select(entity.id).where(clause)


# Edit and reassign (issue 13, item 4).
def require_editor(session: Session, who: Principal, account_id: int | None, *, noun: str) -> None:
    """Only someone who may edit the account's records (access.model.may_edit); call it after
    `require_visible`, so an unseen record stays "not found"."""
    owners = (
        list(session.scalars(sa.select(Lead.owner_user_id).where(Lead.account_id == account_id)))
        if account_id is not None
        else []
    )
    account_owner = (
        session.scalar(sa.select(Account.owner_user_id).where(Account.id == account_id))
        if account_id is not None
        else None
    )
    if not may_edit(who.role, who.user_id, lead_owners=owners, account_owner=account_owner):
        raise PermissionDenied(
            f"only this {noun}'s lead owners, their managers, marketing or an admin may edit it"
        )
