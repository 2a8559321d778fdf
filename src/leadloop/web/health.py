"""Readiness (`/readyz`): what a load balancer and an operator need to know about one web process.
The database decides whether it can serve (503 without it); Redis and the timers say whether it is
serving well (an unreachable Redis means per-process rate limits; timers past due mean no worker
keeps up, or none runs). `/healthz` stays the cheap liveness check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from leadloop.store.db import Database
from leadloop.store.tables import Timer

LATE_AFTER_S = 60.0  # a timer due longer ago than this, still not done: the sweepers are behind


@dataclass(frozen=True)
class Checks:
    database: bool
    redis: bool | None  # None: not configured (per-process limits by choice)
    oldest_due_s: float | None  # how long the oldest due, undone timer has waited; None: none
    forms_waiting: int | None  # web-form submissions not landed yet; None: unknown (no database)
    engine_workers: int | None = None  # job-engine workers with a recent heartbeat; None: no engine


def verdict(c: Checks) -> tuple[int, dict[str, Any]]:
    """The status code and the body. Pure."""
    notes = []
    if c.redis is False:
        notes.append("redis unreachable: rate limits count per process")
    if c.oldest_due_s is not None and c.oldest_due_s > LATE_AFTER_S:
        notes.append(
            f"timers behind: the oldest due one waits {c.oldest_due_s:.0f} s (is `leadloop worker` running?)"
        )
    if c.engine_workers == 0:
        notes.append("no job engine worker is running: timers and e-mail wait (start `leadloop worker`)")
    status = "unavailable" if not c.database else "degraded" if notes else "ok"
    body: dict[str, Any] = {
        "status": status,
        "database": "reachable" if c.database else "unreachable",
        "redis": "not configured" if c.redis is None else "reachable" if c.redis else "unreachable",
        "timers_oldest_due_s": None if c.oldest_due_s is None else round(c.oldest_due_s, 1),
        "forms_waiting": c.forms_waiting,
        **({} if c.engine_workers is None else {"engine_workers": c.engine_workers}),
        "notes": notes,
    }
    return (200 if c.database else 503), body


def oldest_due_s(db: Database, now: datetime) -> float | None:
    with db.read() as session:
        due = session.scalar(
            sa.select(sa.func.min(Timer.due_at)).where(Timer.done_at.is_(None), Timer.due_at <= now)
        )
    if due is None:
        return None
    if due.tzinfo is None:
        due = due.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - due).total_seconds())


def engine_workers(db: Database, beat_within_s: float) -> int:
    """The job engine's workers (ADR 0042) that sent a heartbeat within `beat_within_s`."""
    with db.read() as session:
        return int(
            session.scalar(
                sa.text(
                    "SELECT count(*) FROM procrastinate_workers "
                    "WHERE last_heartbeat > now() - make_interval(secs => :s)"
                ),
                {"s": beat_within_s},
            )
            or 0
        )


def redis_reachable(redis_url: str | None) -> bool | None:
    if not redis_url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False
