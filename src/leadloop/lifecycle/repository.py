"""The queues that own leads nobody personally owns: get or create, by name."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.lifecycle.model import BDR_QUEUE
from leadloop.store.bulk import connection, insert_ignore
from leadloop.store.memo import per_transaction
from leadloop.store.tables import Team

NURTURE_QUEUE = "Marketing nurture"  # below MQL, marketing owns the lead
SALES_INBOX = "Sales inbox"  # MQLs no rule gave to anyone wait here
__all__ = ["BDR_QUEUE", "NURTURE_QUEUE", "SALES_INBOX", "bdr_queue_id", "nurture_queue_id", "queue_id"]

_QUEUE_ID = sa.text("SELECT id FROM teams WHERE name = :name")


def queue_id(session: Session, name: str, *, now: datetime) -> int:
    """The queue of that name, created the first time it is needed (a concurrent creator wins).
    Read once per transaction."""
    return per_transaction(session, ("queue_id", name), lambda: _queue_id(session, name, now=now))


def _queue_id(session: Session, name: str, *, now: datetime) -> int:
    conn = connection(session)
    qid = conn.execute(_QUEUE_ID, {"name": name}).scalar()
    if qid is None:
        insert_ignore(
            session, Team.__table__, [{"name": name, "is_queue": True, "created_at": now}], ["name"]
        )
        qid = conn.execute(_QUEUE_ID, {"name": name}).scalar()
    assert qid is not None
    return int(qid)


def nurture_queue_id(session: Session, *, now: datetime) -> int:
    return queue_id(session, NURTURE_QUEUE, now=now)


def bdr_queue_id(session: Session, *, now: datetime) -> int:
    """The qualification desk's queue: MQLs a rule sends for a qualifying call wait here."""
    return queue_id(session, BDR_QUEUE, now=now)
