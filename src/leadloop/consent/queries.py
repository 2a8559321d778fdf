"""Reading a person's consent for the person page and the API: where each subscription type stands,
whether a message of it may go now and why, and the whole history. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.consent.decision import Decision, Reason, decide
from leadloop.consent.gate import recipient
from leadloop.consent.model import ALL, effective
from leadloop.consent.policy import policy_of
from leadloop.consent.repository import EVENTS, states_of
from leadloop.core.errors import NotFound
from leadloop.store.tables import Person, User


@dataclass(frozen=True)
class TypeRow:
    code: str
    label: str
    status: str | None
    basis: str | None
    since: datetime | None
    expires_at: datetime | None
    decision: Decision


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    scope: str
    status: str
    basis: str | None
    source: str
    detail: str | None
    expires_at: datetime | None
    by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class ConsentView:
    person_id: int  # the person it stands for now (a merge's survivor)
    email_opt_in: bool | None
    erased: bool
    suppressed: Reason | None
    types: list[TypeRow]
    history: list[HistoryRow]


def consent_view(session: Session, person_id: int, *, now: datetime, limit: int = 200) -> ConsentView:
    found = recipient(session, person_id)
    if found is None:
        raise NotFound(f"there is no person #{person_id}")
    policy = policy_of(session)
    states = states_of(session, [found.person_id])[found.person_id]
    types = []
    for t in policy.types:
        state = effective(states, t.code, now)
        types.append(
            TypeRow(
                t.code,
                t.label,
                state.status.value if state else None,
                state.basis.value if state and state.basis else None,
                state.since if state else None,
                state.expires_at if state else None,
                decide(found, states, t.code, policy.codes, now),
            )
        )
    labels = {t.code: t.label for t in policy.types} | {ALL: "Everything"}
    rows = session.execute(
        sa.select(EVENTS, User.email.label("by"))
        .outerjoin(User, User.id == EVENTS.c.by_user_id)
        .where(EVENTS.c.person_id == found.person_id)
        .order_by(EVENTS.c.id.desc())
        .limit(limit)
    ).all()
    history = [
        HistoryRow(
            r.at, labels.get(r.scope, r.scope), r.status, r.basis, r.source, r.detail, r.expires_at, r.by
        )
        for r in rows
    ]
    opt_in = session.scalar(sa.select(Person.email_opt_in).where(Person.id == found.person_id))
    return ConsentView(found.person_id, opt_in, found.erased, found.suppressed, types, history)
