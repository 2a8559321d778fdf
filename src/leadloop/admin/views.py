"""What the admin pages list: users with their team and manager, teams, API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from leadloop.store.tables import ApiKey, Team, User


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    role: str
    active: bool
    team_id: int | None
    team: str | None
    manager_id: int | None
    manager: str | None
    timezone: str
    working_hours: dict[str, str] | None
    holidays: str | None
    must_change_password: bool


def users(session: Session) -> list[UserRow]:
    boss = aliased(User)
    rows = session.execute(
        sa.select(User, Team.name, boss.name)
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(boss, boss.id == User.manager_id)
        .order_by(User.active.desc(), User.name)
    ).all()
    return [
        UserRow(
            u.id,
            u.email,
            u.name,
            u.role,
            u.active,
            u.team_id,
            team,
            u.manager_id,
            manager,
            u.timezone,
            u.working_hours,
            "/".join(x for x in (u.holiday_country, u.holiday_subdivision) if x) or None,
            u.must_change_password,
        )
        for u, team, manager in rows
    ]


@dataclass(frozen=True)
class TeamRow:
    id: int
    name: str
    is_queue: bool
    members: list[UserRow]

    @property
    def managers(self) -> list[str]:
        """The managers the members report to (one, on a tidy team)."""
        return sorted({m.manager for m in self.members if m.manager})


def teams(session: Session, people: list[UserRow]) -> list[TeamRow]:
    return [
        TeamRow(t.id, t.name, t.is_queue, [u for u in people if u.team_id == t.id])
        for t in session.scalars(sa.select(Team).order_by(Team.is_queue, Team.name))
    ]


@dataclass(frozen=True)
class KeyRow:
    id: int
    user: str
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def api_keys(session: Session) -> list[KeyRow]:
    rows = session.execute(
        sa.select(ApiKey, User.email)
        .join(User, User.id == ApiKey.user_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
    ).all()
    return [
        KeyRow(k.id, email, k.name, k.prefix, k.scope, k.created_at, k.last_used_at, k.revoked_at)
        for k, email in rows
    ]
