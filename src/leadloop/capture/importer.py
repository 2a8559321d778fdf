"""`leadloop import`: a CSV file into the warehouse, one transaction per batch.

Re-running a file updates instead of duplicating (external_id, e-mail and activity fingerprints
are the keys), so an import killed half-way is finished by running it again.
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
from leadloop.contract.csvio import CsvFile, Row, open_csv, rows
from leadloop.contract.custom import CustomLimits
from leadloop.core.errors import InvalidInput
from leadloop.core.events import Event
from leadloop.store.bulk import chunks
from leadloop.store.db import Database


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
    rejects_path: Path | None = None
    unmapped: list[str] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    events: list[Event] = field(default_factory=list)


def _parser(
    entity: str, now: datetime, max_chars: int, custom: CustomLimits | None = None
) -> Callable[[dict[str, Any]], Any]:
    if entity == "people":
        return lambda f: m.parse_person(f, max_chars=max_chars, custom=custom)
    if entity == "accounts":
        return lambda f: m.parse_account(f, max_chars=max_chars, custom=custom)
    if entity == "activities":
        return lambda f: m.parse_activity(f, now=now, max_chars=max_chars)
    if entity == "opportunities":
        return lambda f: m.parse_opportunity(f, now=now, max_chars=max_chars)
    return lambda f: m.parse_campaign(f, max_chars=max_chars)


def _store(entity: str, session: Session, items: list[Any], *, now: datetime) -> h.Result:
    if entity == "people":
        acts = [_capture_activity(p) for p in items]
        return h.ingest_people(session, items, now=now, source="import", activities=list(acts))
    if entity == "accounts":
        return h.upsert_accounts(session, items, now=now)
    if entity == "activities":
        return h.ingest_activities(session, items, now=now, source="import")
    if entity == "opportunities":
        return h.upsert_opportunities(session, items, now=now)
    return h.upsert_campaigns(session, items, now=now)


def _capture_activity(p: m.PersonIn) -> m.ActivityIn:
    """The 'list_import' activity: the same row imported twice is one activity."""
    content = "\x1f".join(str(getattr(p, f)) for f in m.PERSON_FIELDS if f != "attributes")
    digest = hashlib.sha256((content + repr(sorted(p.attributes.items()))).encode()).hexdigest()[:40]
    return m.ActivityIn(
        type="list_import",
        occurred_at=p.created_at or _EPOCH,
        channel="import",
        campaign=p.campaign,
        payload={"lead_source": p.lead_source} if p.lead_source else {},
        email=p.email,
        dedupe_key=f"imp:{digest}",
    )


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _fingerprint_occurrences(items: Iterator[tuple[Row, Any]]) -> Iterator[tuple[Row, Any]]:
    """Two identical activity rows in one file are two activities: number the repeats so that their
    keys differ, yet stay the same when the file is imported again."""
    seen: Counter[str] = Counter()
    for row, item in items:
        if isinstance(item, m.ActivityIn) and not item.external_id and not item.dedupe_key:
            fp = item.fingerprint()
            n = seen[fp]
            seen[fp] += 1
            item.dedupe_key = f"fp:{fp}" if n == 0 else f"fp:{fp}:{n}"
        yield row, item


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
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    src: CsvFile = open_csv(path, entity, overrides=overrides, encoding=encoding)
    report = ImportReport(entity, src.path, src.encoding, src.delimiter, unmapped=src.unmapped)
    rejects_path = rejects_path or src.path.with_name(src.path.stem + ".rejects.csv")
    total_lines = _count_lines(src.path)
    rejects_fh = None
    rejects_writer: Any = None

    def reject(row: Row, reason: str) -> None:
        nonlocal rejects_fh, rejects_writer
        if rejects_writer is None:
            # Opened only when the first bad row appears, closed in the finally below.
            rejects_fh = open(rejects_path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            rejects_writer = csv.writer(rejects_fh)
            rejects_writer.writerow(["_line", "_reason", *src.headers])
        rejects_writer.writerow([row.line, reason, *row.cells])
        report.rejected += 1

    def parsed() -> Iterator[tuple[Row, Any]]:
        for row, item, error in _parse_rows(rows(src), entity, now(), max_chars, custom):
            report.rows += 1
            if error is not None:
                reject(row, error)
                continue
            for w in getattr(item, "attributes", {}).pop("_warnings", []):
                report.warnings[w.split(":")[0] if ":" in w else w] += 1
            yield row, item

    try:
        batch: list[Any] = []
        for _row, item in _fingerprint_occurrences(parsed()):
            batch.append(item)
            if len(batch) >= batch_size:
                _flush(db, entity, batch, now, report)
                batch = []
                if progress:
                    progress(report.rows, total_lines)
        if batch:
            _flush(db, entity, batch, now, report)
        if progress:
            progress(report.rows, report.rows)
    finally:
        if rejects_fh is not None:
            rejects_fh.close()
    if report.rejected:
        report.rejects_path = rejects_path
    elif rejects_path.exists():
        rejects_path.unlink()  # a stale rejects file from an earlier run would mislead
    return report


_CHUNK_ROWS = 2_000

Parsed = tuple[Row, Any, str | None]


def _parse_chunk(
    entity: str, now: datetime, max_chars: int, custom: CustomLimits | None, chunk: list[Row]
) -> list[Parsed]:
    parse = _parser(entity, now, max_chars, custom)
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
    source: Iterator[Row], entity: str, now: datetime, max_chars: int, custom: CustomLimits | None
) -> Iterator[Parsed]:
    # Parsing in worker processes was measured: the writer is the bottleneck, and pickling parsed
    # records back costs nearly what the parse saves (5% on 2 cores). One process it is.
    for chunk in chunks(source, _CHUNK_ROWS):
        yield from _parse_chunk(entity, now, max_chars, custom, chunk)


def _count_lines(path: Path) -> int:
    """Data lines, for the progress bar (a quoted cell with newlines makes it an over-estimate)."""
    n = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            n += chunk.count(b"\n")
    return max(n, 1)


def _flush(
    db: Database, entity: str, batch: list[Any], now: Callable[[], datetime], report: ImportReport
) -> None:
    with db.write() as session:
        result = _store(entity, session, batch, now=now())
    report.created += result.count("created")
    report.updated += result.count("updated")
    report.unchanged += result.count("unchanged") + result.count("duplicate")
    report.events.extend(result.events)
