"""Server-side sessions: start, find, touch and end them. The cookie carries a random token only."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.auth.model import SessionPolicy, hash_session_token
from leadloop.store.tables import WebSession


@dataclass(frozen=True)
class Found:
    key: str  # the row's id (the token's HMAC)
    user_id: int | None
    csrf: str


def start(
    session: Session,
    *,
    secret_key: str,
    policy: SessionPolicy,
    user_id: int | None,
    csrf: str,
    now: datetime,
    user_agent: str | None = None,
    ip: str | None = None,
) -> str:
    """A new session; returns the token for the cookie (only its HMAC is stored)."""
    # Expired rows go as new ones come, so the table holds only live sessions without a timer.
    session.execute(sa.delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=hash_session_token(secret_key, token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=policy.expires_at(created_at=now, now=now),
            user_agent=(user_agent or "")[:300] or None,
            ip=ip,
        )
    )
    return token


def find(
    session: Session, *, secret_key: str, policy: SessionPolicy, token: str, now: datetime
) -> tuple[Found, bool] | None:
    """The live session a cookie stands for, and whether it is due a touch; None when it ended."""
    row = session.get(WebSession, hash_session_token(secret_key, token))
    if row is None or row.expires_at <= now:
        return None
    due = policy.needs_touch(last_seen_at=row.last_seen_at, now=now)
    return Found(row.id, row.user_id, row.csrf_token), due


def touch(session: Session, *, key: str, policy: SessionPolicy, now: datetime) -> None:
    row = session.get(WebSession, key)
    if row is not None and policy.needs_touch(last_seen_at=row.last_seen_at, now=now):
        row.last_seen_at = now
        row.expires_at = policy.expires_at(created_at=row.created_at, now=now)


def set_csrf(session: Session, *, key: str, csrf: str) -> None:
    session.execute(sa.update(WebSession).where(WebSession.id == key).values(csrf_token=csrf))


def end(session: Session, *, key: str) -> None:
    session.execute(sa.delete(WebSession).where(WebSession.id == key))


def end_all_for(session: Session, user_id: int) -> int:
    """Sign a user out everywhere (password changed, deactivated); returns how many sessions ended."""
    result = session.execute(sa.delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
