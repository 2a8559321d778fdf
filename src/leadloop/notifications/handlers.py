"""Writing and reading notifications. `notify` is the one writer; `notify_on(build)` turns a
function from an event to notices into a reaction, so a capability that wants to tell someone
something publishes an event and the composition root adds one line:

    r.on(SlaBreached, notify_on(lambda session, e: [Notice(e.owner_user_id, "sla_breach",
                                                           f"sla-breach:{e.lead_id}", "...",
                                                           f"/leads/{e.lead_id}")]))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.events import Event, LeadAssigned, SlaBreached, SlaEscalated, TaskDue
from leadloop.core.reactions import Reaction
from leadloop.notifications.model import Notice
from leadloop.store.bulk import insert_ignore
from leadloop.store.tables import Account, Lead, Notification, User

E = TypeVar("E", bound=Event)
NOTIFICATIONS: sa.Table = Notification.__table__  # type: ignore[assignment]


def notify(session: Session, notices: Iterable[Notice], *, now: datetime) -> None:
    """Write notices; one whose key is already stored is skipped (idempotent)."""
    rows = [n.row(now) for n in notices]
    if rows:
        insert_ignore(session, NOTIFICATIONS, rows, ["key"])


def notify_on(build: Callable[[Session, Any], Iterable[Notice]]) -> Reaction:
    """A reaction that writes the notices `build(session, event)` returns for each event."""

    def reaction(session: Session, events: list[Any], now: datetime) -> list[Event]:
        notify(session, [n for e in events for n in build(session, e)], now=now)
        return []

    return reaction


def task_due_notice(session: Session, e: TaskDue) -> list[Notice]:
    tz = session.scalar(sa.select(User.timezone).where(User.id == e.owner_user_id)) or "UTC"
    try:
        local = e.due_at.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        local = e.due_at
    return [
        Notice(
            e.owner_user_id,
            "task_due",
            f"task-due:{e.task_id}:{e.due_at.isoformat()}",
            f"Task due: {e.title}",
            e.link,
            f"Due {local:%Y-%m-%d %H:%M} {local.tzname() or 'UTC'}",
        )
    ]


on_task_due = notify_on(task_due_notice)


def _account_of(session: Session, lead_id: int) -> str:
    name = session.scalar(
        sa.select(Account.name).join(Lead, Lead.account_id == Account.id).where(Lead.id == lead_id)
    )
    return name or f"lead #{lead_id}"


def sla_breach_notice(session: Session, e: SlaBreached) -> list[Notice]:
    """The owner hears at once that their clock ran out (the manager hears at the escalation)."""
    return [
        Notice(
            e.owner_id,
            "sla_breach",
            f"sla-breach:{e.lead_id}:{e.due_at.isoformat()}",
            f"SLA breached: {_account_of(session, e.lead_id)}",
            f"/leads/{e.lead_id}",
            f"The first touch was due {e.due_at:%Y-%m-%d %H:%M} UTC" + (f" ({e.policy})" if e.policy else ""),
        )
    ]


def sla_escalation_notice(session: Session, e: SlaEscalated) -> list[Notice]:
    """The manager sees each escalated lead in the app at once; the e-mail comes as a digest."""
    if e.manager_id is None:
        return []
    owner = session.scalar(sa.select(User.name).where(User.id == e.owner_id)) or "a rep"
    return [
        Notice(
            e.manager_id,
            "sla_escalated",
            f"sla-escalated:{e.lead_id}:{e.at.isoformat()}",
            f"Escalated: {_account_of(session, e.lead_id)} ({owner})",
            f"/leads/{e.lead_id}",
            "Not touched in time; it is in your next digest e-mail.",
        )
    ]


_WHY = {
    "mql": "a new MQL",
    "handover": "qualified by the desk",
    "reassigned": "reassigned to you",
    "sla_reassign": "passed on: its SLA lapsed",
    "rep_removed": "passed on from a rep who left",
}


def lead_assigned_notice(session: Session, e: LeadAssigned) -> list[Notice]:
    """A rep (or BDR) hears in the app the moment a lead becomes theirs, with why."""
    owner = session.scalar(sa.select(Lead.owner_user_id).where(Lead.id == e.lead_id))
    if owner is None:  # a queue or a partner: nobody to tell in the app
        return []
    if e.note:  # a reactivation: the sentence that says why it is back is the news
        return [
            Notice(
                owner,
                "lead_reactivated",
                f"lead-assigned:{e.lead_id}:{e.at.isoformat()}",
                e.note,
                f"/leads/{e.lead_id}",
                "It is yours now; its page shows its whole journey.",
            )
        ]
    return [
        Notice(
            owner,
            "lead_assigned",
            f"lead-assigned:{e.lead_id}:{e.at.isoformat()}",
            f"New lead: {_account_of(session, e.lead_id)}",
            f"/leads/{e.lead_id}",
            _WHY.get(e.reason, e.reason.replace("_", " ")),
        )
    ]


on_lead_assigned = notify_on(lead_assigned_notice)
on_sla_breached = notify_on(sla_breach_notice)
on_sla_escalated = notify_on(sla_escalation_notice)


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime) -> bool:
    """Only one's own; returns whether there was such an unread notification."""
    done = session.execute(
        NOTIFICATIONS.update()
        .where(
            NOTIFICATIONS.c.id == notification_id,
            NOTIFICATIONS.c.user_id == user_id,
            NOTIFICATIONS.c.read_at.is_(None),
        )
        .values(read_at=now)
    )
    return bool(getattr(done, "rowcount", 0))


def mark_all_read(session: Session, user_id: int, *, now: datetime) -> int:
    done = session.execute(
        NOTIFICATIONS.update()
        .where(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None))
        .values(read_at=now)
    )
    return int(getattr(done, "rowcount", 0))
