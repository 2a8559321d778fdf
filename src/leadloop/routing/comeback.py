"""What routing loads for a lead a hand-raise brought back from remarketing (ADR 0029): its
earlier owner, as the pure decision takes them, and the sentence that tells its new owner why it
is back. Read-only; `handlers.py` routes and writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadloop.auth.model import Role
from leadloop.core.events import LeadReachedMQL
from leadloop.lifecycle import history
from leadloop.lifecycle.journey import last_reactivation, reactivated_alert
from leadloop.routing import repository as repo
from leadloop.routing.rules import EarlierOwner
from leadloop.store.tables import Account, Lead


def earlier_owner(session: Session, lead_id: int, *, now: datetime) -> EarlierOwner | None:
    """Who worked this lead before it went back to marketing, and whether they are inactive or
    away now (the pure decision adds their caps, from the pools)."""
    user = repo.earlier_owner(session, lead_id)
    if user is None:
        return None
    if not user.active:
        why: str | None = "inactive"
    else:
        spans = repo.away_spans(session, {user.id}, now).get(user.id, [])
        why = repo.calendar_for(user, spans).why_away(now)
    return EarlierOwner(user.id, user.email.lower(), why, bdr=user.role == Role.BDR)


def alert(session: Session, lead: Lead, account: Account, e: LeadReachedMQL) -> str:
    """Which activity, by whom, brought the lead back after how long where. The stay is read from
    the stage history, which already holds this reactivation; the person's name is looked up now
    and never stored in the history (an erasure must not leave it behind)."""
    return reactivated_alert(
        e.signal or (e.hand_raise or "new activity").replace("_", " "),
        repo.activity_person(session, e.activity_id),
        f"{account.name} · {lead.product}",
        last_reactivation(history.changes(session, lead.id)),
    )
