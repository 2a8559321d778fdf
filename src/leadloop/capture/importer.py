"""Importing a CSV file into the warehouse, one transaction per batch: `leadloop import` and the
app's import page (which runs it in the background, `execute_run`).

Re-running a file updates instead of duplicating (external_id, e-mail and activity fingerprints
are the keys). A run tied to an `import_runs` row writes its counters, rejects and warnings in the
transaction of each batch, so a run killed half-way is resumed from the last batch that landed.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.capture import runs
from leadloop.capture.carryover import Carry, carry_over, load_users
from leadloop.contract.csvio import CsvFile, Row, open_csv, rows
from leadloop.contract.custom import CustomLimits
from leadloop.contract.headers import REJECTS_COLUMNS
from leadloop.core.errors import InvalidInput, LeadloopError
from leadloop.core.events import Event
from leadloop.core.logging import get_logger
from leadloop.store.bulk import chunks
from leadloop.store.db import Database

log = get_logger("leadloop.import")

# Rejects and warnings waiting for the next batch are written with it; a long stretch of bad rows
# is written on its own before this many pile up, so the progress bar keeps moving.
_MAX_PENDING_ISSUES = 1000


@dataclass
class ImportReport:
    entity: str
    path: Path
    encoding: str
    delimiter: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0  # rows that landed with a warning (a value kept as typed, an owner not found)
    total: int = 0  # the file's data lines, counted before the run: the progress bar's 100%
    rejects_path: Path | None = None
    unmapped: list[str] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    events: list[Event] = field(default_factory=list)
    # What a peer CRM's state came to (people files with owners and stages).
    leads_opened: int = 0
    stages_moved: int = 0
    owners_set: int = 0
    owners_kept: int = 0
    owners_missing: Counter[str] = field(default_factory=Counter)
    stages_unknown: Counter[str] = field(default_factory=Counter)

    def counters(self) -> dict[str, int]:
        return {
            "rows_done": self.rows,
            "rows_total": max(self.total, self.rows),
            "rows_created": self.created,
            "rows_updated": self.updated,
            "rows_unchanged": self.unchanged,
            "rows_rejected": self.rejected,
            "rows_warned": self.warned,
        }

    def summary(self) -> dict[str, Any]:
        return {
            "warnings": dict(self.warnings.most_common(50)),
            "unmapped": self.unmapped,
            "leads_opened": self.leads_opened,
            "stages_moved": self.stages_moved,
            "owners_set": self.owners_set,
            "owners_kept": self.owners_kept,
            "owners_missing": dict(self.owners_missing.most_common(100)),
            "stages_unknown": dict(self.stages_unknown.most_common(100)),
        }

    def resume_from(self, counters: dict[str, int], summary: dict[str, Any]) -> None:
        """A resumed run carries on counting from what its row says had landed."""
        self.created, self.updated = counters["rows_created"], counters["rows_updated"]
        self.unchanged, self.rejected = counters["rows_unchanged"], counters["rows_rejected"]
        self.warned = counters["rows_warned"]
        self.warnings.update(summary.get("warnings", {}))
        self.owners_missing.update(summary.get("owners_missing", {}))
        self.stages_unknown.update(summary.get("stages_unknown", {}))
        for name in ("leads_opened", "stages_moved", "owners_set", "owners_kept"):
            setattr(self, name, int(summary.get(name, 0)))


@dataclass(frozen=True, slots=True)
class RunLink:
    """The `import_runs` row a run advances, held by this runner's claim; `skip` rows had landed."""

    run_id: int
    token: str
    skip: int = 0


def parser(
    entity: str, now: datetime, max_chars: int, custom: CustomLimits | None, started: datetime
) -> Callable[[dict[str, Any]], Any]:
    if entity == "people":
        return lambda f: m.parse_person(f, max_chars=max_chars, custom=custom)
    if entity == "accounts":
        return lambda f: m.parse_account(f, max_chars=max_chars, custom=custom)
    if entity == "activities":
        return lambda f: m.parse_activity(f, now=now, max_chars=max_chars, missing_time=started)
    if entity == "opportunities":
        return lambda f: m.parse_opportunity(f, now=now, max_chars=max_chars)
    if entity == "contact_roles":
        return lambda f: m.parse_contact_role(f, max_chars=max_chars)
    return lambda f: m.parse_campaign(f, max_chars=max_chars)


def _store(
    entity: str, session: Session, items: list[Any], *, now: datetime, started: datetime, campaign: str | None
) -> h.Result:
    if entity == "people":
        acts = [_capture_activity(p, started, campaign) for p in items]
        for p in items:
            p.campaign = p.campaign or campaign
        return h.ingest_people(session, items, now=now, source="import", activities=list(acts))
    if entity == "accounts":
        return h.upsert_accounts(session, items, now=now)
    if entity == "activities":
        for a in items:
            a.campaign = a.campaign or campaign
        return h.ingest_activities(session, items, now=now, source="import")
    if entity == "opportunities":
        return h.upsert_opportunities(session, items, now=now)
    if entity == "contact_roles":
        return h.upsert_contact_roles(session, items, now=now)
    return h.upsert_campaigns(session, items, now=now)


def _capture_activity(p: m.PersonIn, started: datetime, campaign: str | None) -> m.ActivityIn:
    """The 'list_import' activity: the same row imported twice is one activity (its key is the
    row's content, whichever campaign the run links it to). A row without a date of its own was
    added to the list when the import ran, never in 1970."""
    content = "\x1f".join(str(getattr(p, f)) for f in m.PERSON_FIELDS if f != "attributes")
    digest = hashlib.sha256((content + repr(sorted(p.attributes.items()))).encode()).hexdigest()[:40]
    payload: dict[str, Any] = {"lead_source": p.lead_source} if p.lead_source else {}
    if p.created_at is None:
        payload["time"] = "the import's (the row has no date)"
    return m.ActivityIn(
        type="list_import",
        occurred_at=p.created_at or started,
        channel="import",
        campaign=campaign or p.campaign,
        payload=payload,
        email=p.email,
        dedupe_key=f"imp:{digest}",
    )


def _fingerprint_occurrences(
    items: Iterator[tuple[Row, Any, bool]],
) -> Iterator[tuple[Row, Any, bool]]:
    """Two identical activity rows in one file are two activities: number the repeats so that their
    keys differ, yet stay the same when the file is imported again (or resumed half-way)."""
    seen: Counter[str] = Counter()
    for row, item, skipped in items:
        if isinstance(item, m.ActivityIn) and not item.external_id and not item.dedupe_key:
            fp = item.fingerprint()
            n = seen[fp]
            seen[fp] += 1
            item.dedupe_key = f"fp:{fp}" if n == 0 else f"fp:{fp}:{n}"
        yield row, item, skipped


def _row_warnings(item: Any) -> list[str]:
    attributes = getattr(item, "attributes", None)
    found: list[str] = attributes.pop("_warnings", []) if isinstance(attributes, dict) else []
    return found + list(getattr(item, "warnings", []))


def _merged_lines(
    batch: list[tuple[Row, Any]], outcomes: list[h.Outcome], warn: Callable[[int, list[str]], None]
) -> None:
    """Rows of one batch about one record were folded into it (capture/model.py fold_batch): each
    later row says so, naming the first, so that no value is replaced without a word."""
    first: dict[int, int] = {}
    for (row, _), o in zip(batch, outcomes, strict=False):
        if o.id is None:
            continue
        if o.status == "duplicate" and o.id in first:
            warn(
                row.line,
                [
                    f"duplicate: the same record as line {first[o.id]} (same e-mail or id); the two"
                    " lines were merged into one, and where both give a value this line's was kept"
                ],
            )
        first.setdefault(o.id, row.line)


def _warning_kind(text: str) -> str:
    """'country: ...' -> 'country'; the phone and website messages name their field first."""
    head = text.split(":", 1)[0] if ":" in text else text.split(" ", 1)[0]
    return head.strip() or "other"


def run_import(
    db: Database,
    entity: str,
    path: str | Path,
    *,
    now: Callable[[], datetime],
    overrides: dict[str, str] | None = None,
    encoding: str | None = None,
    batch_size: int = 2000,
    max_chars: int = 65_536,
    custom: CustomLimits | None = None,
    rejects_path: Path | None = None,
    rejects_file: bool = True,
    progress: Callable[[int, int], None] | None = None,
    campaign: str | None = None,
    carry: Carry | None = None,
    run: RunLink | None = None,
    started_at: datetime | None = None,
    resume: tuple[dict[str, int], dict[str, Any]] | None = None,
) -> ImportReport:
    """`campaign`: every row's campaign (a trade-show list), where the row names none; `carry`: a
    people file's owners and stages (capture/carryover.py); `run`: the row to advance;
    `started_at`: the run's start, the time of a row that gives none."""
    src: CsvFile = open_csv(path, entity, overrides=overrides, encoding=encoding)
    report = ImportReport(entity, src.path, src.encoding, src.delimiter, unmapped=src.unmapped)
    report.total = max(count_lines(src.path) - 1, 0)
    if resume is not None:
        report.resume_from(*resume)
    started = started_at or now()
    skip = run.skip if run else 0
    if carry is None and entity == "people":
        with db.read() as session:
            carry = Carry(users=load_users(session), reason=f"import of {src.path.name}"[:200])
    rejects_path = rejects_path or src.path.with_name(src.path.stem + ".rejects.csv")
    rejects_fh = None
    rejects_writer: Any = None
    pending: list[dict[str, Any]] = []  # issues for the next transaction
    warned_lines: set[int] = set()

    def reject(row: Row, reason: str) -> None:
        nonlocal rejects_fh, rejects_writer
        report.rejected += 1
        cells = [c[:max_chars] for c in row.cells]
        pending.append({"line": row.line, "kind": "reject", "message": reason[:2000], "cells": cells})
        if not rejects_file:
            return
        if rejects_writer is None:
            # Opened only when the first bad row appears, closed in the finally below.
            rejects_fh = open(rejects_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            rejects_writer = csv.writer(rejects_fh)
            rejects_writer.writerow([*REJECTS_COLUMNS, *src.headers])
        rejects_writer.writerow([row.line, reason, *row.cells])

    def warn(line: int, texts: list[str]) -> None:
        for text in texts:
            report.warnings[_warning_kind(text)] += 1
            pending.append({"line": line, "kind": "warning", "message": text[:2000], "cells": None})
        if texts and line not in warned_lines:
            warned_lines.add(line)
            report.warned += 1

    def parsed() -> Iterator[tuple[Row, Any, bool]]:
        for row, item, error in _parse_rows(rows(src), entity, now(), max_chars, custom, started):
            report.rows += 1
            skipped = report.rows <= skip
            if error is not None:
                if not skipped:
                    reject(row, error)
                continue
            texts = _row_warnings(item)
            if not skipped:
                warn(row.line, texts)
            yield row, item, skipped

    def flush(batch: list[tuple[Row, Any]], *, status: str | None = None) -> None:
        with db.write() as session:
            at = now()
            if batch:
                items = [item for _, item in batch]
                result = _store(entity, session, items, now=at, started=started, campaign=campaign)
                report.created += result.count("created")
                report.updated += result.count("updated")
                report.unchanged += result.count("unchanged") + result.count("duplicate")
                report.events.extend(result.events)
                refused = [
                    (r, o) for (r, _), o in zip(batch, result.outcomes, strict=False) if o.status == h.REFUSED
                ]
                for row, o in refused:  # an erased person (privacy/): nothing of the row landed
                    reject(row, o.why or "refused")
                for (row, _), o in zip(batch, result.outcomes, strict=False):
                    if o.status != h.REFUSED and o.why:  # it landed, with something to say
                        warn(row.line, [o.why])
                _merged_lines(batch, result.outcomes, warn)
                if carry is not None and entity == "people":
                    _carry(session, batch, result, carry, report, warn, now=at)
            if run is not None:
                runs.record(
                    session,
                    run.run_id,
                    run.token,
                    counters=report.counters(),
                    summary=report.summary(),
                    issues=pending,
                    now=at,
                    status=status,
                )
        pending.clear()
        warned_lines.clear()
        if progress:
            progress(report.rows, max(report.total, report.rows))

    try:
        batch: list[tuple[Row, Any]] = []
        for row, item, skipped in _fingerprint_occurrences(parsed()):
            if skipped:
                continue
            batch.append((row, item))
            if len(batch) >= batch_size or len(pending) >= _MAX_PENDING_ISSUES:
                flush(batch)
                batch = []
        report.total = report.rows
        if run is not None:
            flush(batch, status="done")
        elif batch or pending:
            flush(batch)
        elif progress:
            progress(report.rows, report.rows)
    finally:
        if rejects_fh is not None:
            rejects_fh.close()
    if report.rejected and rejects_writer is not None:
        report.rejects_path = rejects_path
    elif rejects_file and not skip and rejects_path.exists():
        rejects_path.unlink()  # a stale rejects file from an earlier run would mislead
    return report


def _carry(
    session: Session,
    batch: list[tuple[Row, Any]],
    result: h.Result,
    carry: Carry,
    report: ImportReport,
    warn: Callable[[int, list[str]], None],
    *,
    now: datetime,
) -> None:
    landed = [(b, o) for b, o in zip(batch, result.outcomes, strict=True) if o.status != h.REFUSED]
    batch, outcomes = [b for b, _ in landed], [o for _, o in landed]
    items = [item for _, item in batch]
    if not any(p.carries() or p.website for p in items):
        return
    done = carry_over(session, items, outcomes, carry, now=now)
    for (row, _), texts in zip(batch, done.warnings, strict=True):
        warn(row.line, texts)
    report.leads_opened += done.leads_opened
    report.stages_moved += done.stages_moved
    report.owners_set += done.owners_set
    report.owners_kept += done.owners_kept
    report.owners_missing.update(done.owners_missing)
    report.stages_unknown.update(done.stages_unknown)
    report.events.extend(done.events)


_CHUNK_ROWS = 2_000

Parsed = tuple[Row, Any, str | None]


def _parse_chunk(
    entity: str,
    now: datetime,
    max_chars: int,
    custom: CustomLimits | None,
    started: datetime,
    chunk: list[Row],
) -> list[Parsed]:
    parse = parser(entity, now, max_chars, custom, started)
    out: list[Parsed] = []
    for row in chunk:
        if row.error:
            out.append((row, None, row.error))
            continue
        try:
            out.append((row, parse(row.fields), None))
        except InvalidInput as exc:
            out.append((row, None, str(exc)))
    return out


def _parse_rows(
    source: Iterator[Row],
    entity: str,
    now: datetime,
    max_chars: int,
    custom: CustomLimits | None,
    started: datetime,
) -> Iterator[Parsed]:
    # Parsing in worker processes was measured: the writer is the bottleneck, and pickling parsed
    # records back costs nearly what the parse saves (5% on 2 cores). One process it is.
    for chunk in chunks(source, _CHUNK_ROWS):
        yield from _parse_chunk(entity, now, max_chars, custom, started, chunk)


def count_lines(path: Path) -> int:
    """Lines, for the progress bar (a quoted cell with newlines makes it an over-estimate)."""
    n = 0
    last = b""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (1 if last not in (b"", b"\n") else 0)


def execute_run(
    db: Database,
    run_id: int,
    token: str,
    *,
    now: Callable[[], datetime],
    batch_size: int = 2000,
    max_chars: int = 65_536,
    custom: CustomLimits | None = None,
) -> ImportReport | None:
    """Run (or resume) a stored import the caller has claimed (runs.claim), to its end. Whatever
    stops it, from its first read to its last batch, is written on the run (failed, with the reason)
    rather than lost in a thread that would leave it "running" until its heartbeat went stale."""
    try:
        return _execute(db, run_id, token, now=now, batch_size=batch_size, max_chars=max_chars, custom=custom)
    except runs.RunTakenOver:
        log.info("import.taken_over", run_id=run_id)
        return None
    except LeadloopError as exc:
        _fail(db, run_id, token, str(exc), now())
    except Exception as exc:  # a bug or a lost database: the run says so, the thread ends
        log.exception("import.failed", run_id=run_id)
        _fail(db, run_id, token, f"{type(exc).__name__}: {exc}; resume it, or tell your admin", now())
    return None


def _execute(
    db: Database,
    run_id: int,
    token: str,
    *,
    now: Callable[[], datetime],
    batch_size: int,
    max_chars: int,
    custom: CustomLimits | None,
) -> ImportReport | None:
    with db.read() as session:
        row = runs.get(session, run_id)
        if row is None or row.stored_path is None:
            return None
        users = load_users(session) if row.entity == "people" else []
        campaign = runs.campaign_name(session, row.campaign_id)
        values = row.choices or {}
        carry = Carry(
            stages={str(k): str(v) for k, v in (values.get("stages") or {}).items()},
            owners={str(k): (int(v) if v else None) for k, v in (values.get("owners") or {}).items()},
            users=users,
            reason=f"import #{row.id} ({row.filename})"[:200],
        )
        link = RunLink(run_id, token, skip=row.rows_done)
        counters = {c: int(getattr(row, c) or 0) for c in runs.COUNTERS}
        resume = (counters, dict(row.summary or {})) if row.rows_done else None
        entity, path, mapping = row.entity, Path(row.stored_path), dict(row.mapping or {})
        encoding, started = row.encoding, row.started_at
    return run_import(
        db,
        entity,
        path,
        now=now,
        overrides=mapping,
        encoding=encoding,
        batch_size=batch_size,
        max_chars=max_chars,
        custom=custom,
        rejects_file=False,
        campaign=campaign,
        carry=carry if entity == "people" else None,
        run=link,
        started_at=started,
        resume=resume,
    )


def _fail(db: Database, run_id: int, token: str, error: str, at: datetime) -> None:
    try:
        with db.write() as session:
            runs.fail(session, run_id, token, error=error, now=at)
    except Exception:  # the database itself is gone: the heartbeat goes stale, the run reads interrupted
        log.exception("import.fail_not_recorded", run_id=run_id)
