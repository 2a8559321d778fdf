"""The audit log of security events: who signed in or failed to, who made a key, changed a role,
reset a password or exported data. Append-only; written in the transaction of what it records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.store.tables import AuditEvent, User

KINDS = (
    "login",
    "login.failed",
    "login.limited",
    "logout",
    "api_key.created",
    "user.role_changed",
    "user.password_reset",
    "user.password_changed",
    "user.deactivated",
    "export",
    # Edit and reassign (issue 13, item 4): a manager's reassignment and every admin action.
    "leads.reassigned",
    "user.created",
    "user.team_changed",
    "user.manager_changed",
    "user.calendar_changed",
    "user.away_added",
    "user.away_removed",
    "team.created",
    "api_key.revoked",
    # Consent and GDPR (issue 14): an export or erasure of a person, the suppression list, consent
    # recorded by staff.
    "person.exported",
    "person.erased",
    "suppression.added",
    "suppression.removed",
    "consent.recorded",
)


def record(
    session: Session,
    kind: str,
    *,
    at: datetime,
    actor_user_id: int | None = None,
    subject: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown audit event {kind!r}")  # a programming error, not a user's
    session.add(
        AuditEvent(at=at, kind=kind, actor_user_id=actor_user_id, subject=subject, ip=ip, detail=detail)
    )


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    kind: str
    actor: str | None
    subject: str | None
    ip: str | None
    detail: dict[str, Any] | None


def recent(session: Session, *, limit: int = 200, kind: str | None = None) -> list[Entry]:
    query = (
        sa.select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    if kind:
        query = query.where(AuditEvent.kind == kind)
    return [
        Entry(e.id, e.at, e.kind, email, e.subject, e.ip, e.detail)
        for e, email in session.execute(query).all()
    ]
