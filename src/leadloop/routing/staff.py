"""Routing's side of the people who own leads, as an admin changes it: a rep's working calendar,
their absences and their team. The CLI (`leadloop users calendar|away`) and the admin pages both
call these; out of office and the manager chain are in `handlers.py` (add_away, set_manager)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.routing.calendar import DAYS, Calendar, parse_hours
from leadloop.store.tables import OutOfOffice, Team, User


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    return user


def set_calendar(
    session: Session,
    user_id: int,
    *,
    timezone: str | None = None,
    hours: dict[str, str] | None = None,
    holidays: str | None = None,
) -> User:
    """Time zone (IANA), working hours ({"mon": "09:00-12:00,13:00-17:00", ...}; a day left out is
    not worked) and public holidays ("DE" or "DE/BE"; "" for none). Each is checked before anything
    is saved: an unknown zone, a bad span or an unknown holiday calendar says what to write instead."""
    user = _user(session, user_id)
    if hours is not None:
        hours = {k.strip().lower()[:3]: v.strip() for k, v in hours.items() if v and v.strip()}
    country, _, sub = (holidays or "").partition("/")
    zone = timezone or user.timezone
    Calendar(
        zone=zone,
        hours=parse_hours(hours) if hours else Calendar().hours,
        holiday_country=(country.upper() or None) if holidays is not None else user.holiday_country,
        holiday_subdivision=(sub.upper() or None) if holidays is not None else user.holiday_subdivision,
    )
    user.timezone = zone
    if hours is not None:
        user.working_hours = {d: hours[d] for d in DAYS if d in hours} or None
    if holidays is not None:
        user.holiday_country, user.holiday_subdivision = (country.upper() or None), (sub.upper() or None)
    return user


def remove_away(session: Session, away_id: int) -> OutOfOffice:
    row = session.get(OutOfOffice, away_id)
    if row is None:
        raise NotFound(f"there is no out-of-office entry #{away_id}")
    session.delete(row)
    return row


def create_team(session: Session, name: str, *, now: datetime, is_queue: bool = False) -> Team:
    text = " ".join(name.split())
    if not text or len(text) > 200:
        raise InvalidInput("name: a team needs a name of 1 to 200 characters")
    if session.scalar(sa.select(Team.id).where(sa.func.lower(Team.name) == text.lower())) is not None:
        raise Conflict(f"name: there is a team called {text} already")
    team = Team(name=text, is_queue=is_queue, created_at=now)
    session.add(team)
    session.flush()
    return team


def set_team(session: Session, user_id: int, team_id: int | None) -> User:
    user = _user(session, user_id)
    if team_id is not None and session.get(Team, team_id) is None:
        raise NotFound(f"there is no team #{team_id}")
    user.team_id = team_id
    return user


@dataclass(frozen=True)
class AwaySpan:
    id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    note: str | None


def upcoming_away(session: Session, *, now: datetime) -> dict[int, list[AwaySpan]]:
    """Absences not over yet, by user."""
    out: dict[int, list[AwaySpan]] = {}
    for r in session.scalars(
        sa.select(OutOfOffice).where(OutOfOffice.ends_at > now).order_by(OutOfOffice.starts_at)
    ):
        out.setdefault(r.user_id, []).append(AwaySpan(r.id, r.user_id, r.starts_at, r.ends_at, r.note))
    return out
