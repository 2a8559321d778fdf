"""Import runs as rows: created when a file arrives (the app) or a run starts (`leadloop import`),
claimed by the one runner that executes it, advanced in the transaction of every batch, finished
or failed. What the app's pages read: a run, its rejects and warnings, the history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.run_state import STALE_AFTER
from leadloop.core.errors import Conflict
from leadloop.store.bulk import connection
from leadloop.store.tables import Campaign, ImportIssue, ImportRun, User

RUNS: sa.Table = ImportRun.__table__  # type: ignore[assignment]
ISSUES: sa.Table = ImportIssue.__table__  # type: ignore[assignment]

# The counters a runner writes with each batch (ImportReport.counters()).
COUNTERS = (
    "rows_done",
    "rows_total",
    "rows_created",
    "rows_updated",
    "rows_unchanged",
    "rows_rejected",
    "rows_warned",
)


class RunTakenOver(Conflict):
    """Another runner holds this run now (it was resumed elsewhere): this one stops, and the batch
    it was writing is rolled back with it."""


@dataclass(frozen=True, slots=True)
class NewRun:
    entity: str
    filename: str
    file_sha256: str
    encoding: str
    delimiter: str
    source: str  # web | cli
    rows_total: int = 0
    file_bytes: int = 0
    user_id: int | None = None
    stored_path: str | None = None
    mapping: dict[str, str] | None = None


def create(
    session: Session, run: NewRun, *, now: datetime, status: str = "draft", claim: str | None = None
) -> int:
    """A draft (a file uploaded, waiting for its mapping), or with `claim` a run its caller executes
    at once (`leadloop import`)."""
    values = {
        "entity": run.entity,
        "filename": run.filename[:1000],
        "file_sha256": run.file_sha256,
        "encoding": run.encoding[:20],
        "delimiter": run.delimiter,
        "source": run.source,
        "rows_total": run.rows_total,
        "file_bytes": run.file_bytes,
        "user_id": run.user_id,
        "stored_path": run.stored_path,
        "mapping": run.mapping or {},
        "choices": {},
        "summary": {},
        "status": status,
        "claim": claim,
        "started_at": now,
        "heartbeat_at": now,
    }
    return int(session.scalar(sa.insert(ImportRun).returning(ImportRun.id).values(**values)) or 0)


def choose(
    session: Session,
    run_id: int,
    *,
    entity: str,
    mapping: dict[str, str],
    choices: dict[str, Any],
    campaign_id: int | None,
    encoding: str,
    delimiter: str,
) -> None:
    """The mapping the person running it chose, while the run is a draft."""
    done = connection(session).execute(
        RUNS.update()
        .where(RUNS.c.id == run_id, RUNS.c.status == "draft")
        .values(
            entity=entity,
            mapping=mapping,
            choices=choices,
            campaign_id=campaign_id,
            encoding=encoding,
            delimiter=delimiter,
        )
    )
    if done.rowcount != 1:
        raise Conflict(f"import #{run_id} has started already: its mapping can no longer change")


def claim(session: Session, run_id: int, token: str, *, now: datetime) -> bool:
    """Take a run to execute it: a draft being started, a failed run, or a running one whose runner
    stopped beating (ADR 0024). One statement, so two clicks on Resume give one runner."""
    taken = connection(session).execute(
        RUNS.update()
        .where(
            RUNS.c.id == run_id,
            sa.or_(
                RUNS.c.status.in_(("draft", "failed")),
                sa.and_(
                    RUNS.c.status == "running",
                    sa.or_(RUNS.c.heartbeat_at.is_(None), RUNS.c.heartbeat_at < now - STALE_AFTER),
                ),
            ),
        )
        .values(
            status="running",
            claim=token,
            heartbeat_at=now,
            error=None,
            finished_at=None,
            started_at=sa.case((RUNS.c.status == "draft", now), else_=RUNS.c.started_at),
        )
    )
    return taken.rowcount == 1


def record(
    session: Session,
    run_id: int,
    token: str,
    *,
    counters: dict[str, int],
    summary: dict[str, Any],
    issues: list[dict[str, Any]],
    now: datetime,
    status: str | None = None,
) -> None:
    """A batch's progress, in the batch's own transaction: either both land or neither does, so
    `rows_done` always says how far the file has landed."""
    conn = connection(session)
    extra: dict[str, Any] = {"status": status, "finished_at": now} if status else {}
    done = conn.execute(
        RUNS.update()
        .where(RUNS.c.id == run_id, RUNS.c.claim == token)
        .values(**counters, summary=summary, heartbeat_at=now, **extra)
    )
    if done.rowcount != 1:
        raise RunTakenOver(f"import #{run_id} was taken over by another runner; this one stops")
    if issues:
        conn.execute(ISSUES.insert(), [{"run_id": run_id, **i} for i in issues])


def fail(session: Session, run_id: int, token: str, *, error: str, now: datetime) -> None:
    connection(session).execute(
        RUNS.update()
        .where(RUNS.c.id == run_id, RUNS.c.claim == token)
        .values(status="failed", error=error[:1000], finished_at=now, heartbeat_at=now)
    )


def get(session: Session, run_id: int) -> ImportRun | None:
    return session.get(ImportRun, run_id)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    run: ImportRun
    user_name: str | None
    campaign_name: str | None


def history(session: Session, *, limit: int = 50, offset: int = 0) -> list[HistoryRow]:
    rows = session.execute(
        sa.select(ImportRun, User.name, Campaign.name)
        .outerjoin(User, User.id == ImportRun.user_id)
        .outerjoin(Campaign, Campaign.id == ImportRun.campaign_id)
        .order_by(ImportRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [HistoryRow(r[0], r[1], r[2]) for r in rows]


def issues(session: Session, run_id: int, kind: str, *, limit: int = 50) -> list[ImportIssue]:
    return list(
        session.scalars(
            sa.select(ImportIssue)
            .where(ImportIssue.run_id == run_id, ImportIssue.kind == kind)
            .order_by(ImportIssue.line, ImportIssue.id)
            .limit(limit)
        )
    )


def each_issue(session: Session, run_id: int, kind: str, *, chunk: int = 1000) -> Iterator[ImportIssue]:
    """Every issue of a kind in line order, read a chunk at a time (a file may reject many rows)."""
    after = (-1, -1)
    while True:
        page = list(
            session.scalars(
                sa.select(ImportIssue)
                .where(
                    ImportIssue.run_id == run_id,
                    ImportIssue.kind == kind,
                    sa.tuple_(ImportIssue.line, ImportIssue.id) > sa.tuple_(*after),
                )
                .order_by(ImportIssue.line, ImportIssue.id)
                .limit(chunk)
            )
        )
        yield from page
        if len(page) < chunk:
            return
        after = (page[-1].line, page[-1].id)


def campaign_name(session: Session, campaign_id: int | None) -> str | None:
    if campaign_id is None:
        return None
    return session.scalar(sa.select(Campaign.name).where(Campaign.id == campaign_id))


def campaigns(session: Session) -> list[tuple[int, str]]:
    """Campaigns a file can be linked to, newest first."""
    return [
        (r.id, r.name)
        for r in session.execute(
            sa.select(Campaign.id, Campaign.name).order_by(Campaign.created_at.desc(), Campaign.id.desc())
        )
    ]
