"""CSV exports of a list: streamed a chunk of rows at a time from one read session, bounded."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadloop.store.db import Database

CHUNK = 500


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A spreadsheet runs a cell that starts like a formula: keep it text (OWASP CSV injection).
        return "'" + value
    return "" if value is None else value


def csv_stream(
    db: Database, header: list[str], rows: Callable[[Session], Iterable[tuple[Any, ...]]]
) -> Iterator[bytes]:
    """The header, then the rows `rows(session)` yields, encoded as UTF-8 with a BOM (so a
    spreadsheet reads the accents), flushed every CHUNK rows. The session lives as long as the
    stream, and no longer."""
    buf = io.StringIO()
    out = csv.writer(buf)
    buf.write("\ufeff")
    out.writerow(header)
    with db.read() as session:
        for n, row in enumerate(rows(session), 1):
            out.writerow([_cell(v) for v in row])
            if n % CHUNK == 0:
                yield buf.getvalue().encode()
                buf.seek(0)
                buf.truncate()
    yield buf.getvalue().encode()
