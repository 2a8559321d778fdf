"""How a job engine hears of new work, in the transaction that makes it. Timers and the outbox
stay the source of truth (rows with due times); when the distributed engine runs (PostgreSQL,
ADR 0042), each new or moved timer and each message also becomes one of its jobs, deferred on the
same connection, so the job exists exactly when the row does. On SQLite no announcer is set and
the sweeper finds the rows by their due times."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from leadloop.settings import Settings
from leadloop.store.db import normalise_url

ANNOUNCE_KEY = "leadloop.jobs.announce"


class Announcer(Protocol):
    def near(self, due: datetime) -> bool:
        """Whether a timer due then gets its job now. One due later gets it from the engine's
        arming round when it comes near (ADR 0044): the queue holds only what is coming soon."""

    def timers(self, session: Session, rows: list[tuple[str, str, datetime]]) -> None:
        """(kind, subject, due) of near timers armed or moved in this transaction."""

    def messages(self, session: Session, rows: list[tuple[str, datetime]]) -> None:
        """(key, when) of outbox messages to send (new, or put off after a failed attempt)."""


def announcer(session: Session) -> Announcer | None:
    found = session.info.get(ANNOUNCE_KEY)
    return found if found is not None else None


def uses_engine(settings: Settings) -> bool:
    """Whether timers and the outbox run on the job engine (jobs/engine.py, procrastinate) with
    these settings: on PostgreSQL unless LEADLOOP_JOBS_ENGINE=sweeper (Settings refuse the engine
    on SQLite). Here, not in engine.py, so that deciding does not import the engine."""
    return normalise_url(settings.database_url).startswith("postgresql") and settings.jobs_engine != "sweeper"
