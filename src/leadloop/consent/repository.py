"""Persistence for consent: the log (appended, never changed), the current state derived from it,
and `people.email_opt_in`, derived too. This module is the one writer of all three (ADR 0027)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.consent.model import Basis, Plan, State, Status, next_expiry, summary
from leadloop.consent.policy import ConsentPolicy
from leadloop.jobs.timers import cancel_many, schedule_many
from leadloop.store.bulk import chunks, connection, select_in
from leadloop.store.tables import Consent, ConsentEvent, Person

EVENTS: sa.Table = ConsentEvent.__table__  # type: ignore[assignment]
CONSENTS: sa.Table = Consent.__table__  # type: ignore[assignment]
PEOPLE: sa.Table = Person.__table__  # type: ignore[assignment]
EXPIRES = "consent_expires"  # the timer of a person's next implied consent to run out


def states_of(session: Session, person_ids: Iterable[int]) -> dict[int, dict[str, State]]:
    """Every listed person's current states (an empty dict for one with none)."""
    ids = set(person_ids)
    out: dict[int, dict[str, State]] = {pid: {} for pid in ids}
    for r in select_in(session, (CONSENTS,), CONSENTS.c.person_id, ids):
        out[r.person_id][r.scope] = State(
            r.scope,
            Status(r.status),
            Basis(r.basis) if r.basis else None,
            r.since,
            r.seq,
            r.source,
            r.expires_at,
        )
    return out


def log_of(session: Session, person_id: int) -> list[State]:
    """The person's whole log, oldest first, each entry as the state it set (with its detail)."""
    return [
        State(
            r.scope,
            Status(r.status),
            Basis(r.basis) if r.basis else None,
            r.at,
            r.id,
            r.source,
            r.expires_at,
            r.detail,
        )
        for r in session.execute(
            sa.select(EVENTS).where(EVENTS.c.person_id == person_id).order_by(EVENTS.c.id)
        )
    ]


def lock_person(session: Session, person_id: int) -> None:
    """Serialise the writers of one person's consent and the send gate that reads it: on PostgreSQL
    the unsubscribe and a send transaction queue on this row lock (on SQLite the database lock does
    it), so a message is either enqueued before the unsubscribe commits or refused after it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(PEOPLE.c.id).where(PEOPLE.c.id == person_id).with_for_update())


def append(
    session: Session, plan: Plan, policy: ConsentPolicy, *, now: datetime, by_user_id: int | None = None
) -> None:
    """Append the plan's entries, rebuild the current state of the people they touch from the log,
    and keep `email_opt_in` and the expiry timers in step."""
    if not plan.entries:
        return
    conn = connection(session)
    conn.execute(
        EVENTS.insert(),
        [
            {
                "person_id": pid,
                "scope": c.scope,
                "status": c.status.value,
                "basis": c.basis.value if c.basis else None,
                "source": c.source[:40],
                "detail": c.detail[:300] if c.detail else None,
                "at": now,
                "expires_at": c.expires_at,
                "by_user_id": by_user_id,
            }
            for pid, c in plan.entries
        ],
    )
    after = plan.touched()
    _rebuild(conn, sorted(after))
    _write_summaries(session, after, policy, now=now)
    _arm_expiry(session, plan.before, after, now=now)


def _rebuild(conn: sa.Connection, person_ids: Sequence[int]) -> None:
    """The current state is the latest log entry per person and scope: derived, never edited."""
    latest = (
        sa.select(sa.func.max(EVENTS.c.id))
        .where(EVENTS.c.person_id.in_(sa.bindparam("ids", expanding=True)))
        .group_by(EVENTS.c.person_id, EVENTS.c.scope)
    )
    for part in chunks(person_ids):
        conn.execute(CONSENTS.delete().where(CONSENTS.c.person_id.in_(part)))
        conn.execute(
            CONSENTS.insert().from_select(
                ["person_id", "scope", "status", "basis", "source", "since", "expires_at", "seq"],
                sa.select(
                    EVENTS.c.person_id,
                    EVENTS.c.scope,
                    EVENTS.c.status,
                    EVENTS.c.basis,
                    EVENTS.c.source,
                    EVENTS.c.at,
                    EVENTS.c.expires_at,
                    EVENTS.c.id,
                ).where(EVENTS.c.id.in_(latest)),
            ),
            {"ids": part},
        )


def _write_summaries(
    session: Session, after: dict[int, dict[str, State]], policy: ConsentPolicy, *, now: datetime
) -> None:
    current = dict(select_in(session, (PEOPLE.c.id, PEOPLE.c.email_opt_in), PEOPLE.c.id, set(after)))
    changed = [
        {"pid": pid, "opt_in": value}
        for pid, states in after.items()
        if (value := summary(states, policy.codes, now)) != current.get(pid)
    ]
    if changed:
        connection(session).execute(
            PEOPLE.update()
            .where(PEOPLE.c.id == sa.bindparam("pid"))
            .values(email_opt_in=sa.bindparam("opt_in")),
            changed,
        )


def _arm_expiry(
    session: Session,
    before: dict[int, dict[str, State]],
    after: dict[int, dict[str, State]],
    *,
    now: datetime,
) -> None:
    """One timer per person, at their next implied consent's end; settled when none is left."""
    due = {pid: next_expiry(states, now) for pid, states in after.items()}
    schedule_many(session, [(EXPIRES, f"person:{pid}", at, {}) for pid, at in due.items() if at is not None])
    had = [
        f"person:{pid}"
        for pid, at in due.items()
        if at is None and any(s.expires_at for s in before.get(pid, {}).values())
    ]
    cancel_many(session, (EXPIRES,), had, now=now)


def history(session: Session, person_id: int, *, limit: int = 200) -> list[sa.Row[tuple[object, ...]]]:
    """The person's log, newest first."""
    return list(
        session.execute(
            sa.select(EVENTS).where(EVENTS.c.person_id == person_id).order_by(EVENTS.c.id.desc()).limit(limit)
        )
    )
