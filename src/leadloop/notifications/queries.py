"""Reading one's notifications: the unread count for the nav, and the list."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.store.tables import Notification

PAGE = 100


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def recent(session: Session, user_id: int, *, limit: int = PAGE) -> Sequence[Notification]:
    """Unread first, newest first."""
    return session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    ).all()


def link_of(session: Session, user_id: int, notification_id: int) -> str | None:
    """Where one of the user's notifications points (None: not theirs, or nowhere)."""
    return session.scalar(
        sa.select(Notification.link).where(
            Notification.id == notification_id, Notification.user_id == user_id
        )
    )
