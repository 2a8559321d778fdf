"""What a file would become, before anything is stored: each column's field, a sample of rows as
they would land (or why they would not), and the peer CRM's stage and owner values found in it,
so the person importing can check and correct the mapping first. Reads the file; writes nothing."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from leadloop.capture.importer import parser
from leadloop.contract.csvio import open_csv, rows, sniff
from leadloop.contract.custom import CustomLimits
from leadloop.contract.headers import map_headers
from leadloop.core.errors import ImportFileError, InvalidInput

CUSTOM = ""  # a column kept as a custom attribute under its own name
IGNORE = "-"
_HIDDEN = {"email_domain", "email_kind", "name_key", "dedupe_key", "warnings", "attributes", "payload"}


@dataclass(frozen=True, slots=True)
class Column:
    index: int
    header: str
    field: str  # a field, CUSTOM or IGNORE
    guessed: str  # what the automatic mapping says
    samples: list[str]


@dataclass(frozen=True, slots=True)
class SampleRow:
    line: int
    cells: list[str]
    outcome: str  # lands | warning | rejected
    becomes: list[tuple[str, str]]
    problems: list[str]


@dataclass
class Preview:
    entity: str
    encoding: str
    delimiter: str
    headers: list[str]
    columns: list[Column] = field(default_factory=list)
    rows: list[SampleRow] = field(default_factory=list)
    error: str | None = None  # why the file cannot be imported as mapped
    stage_values: Counter[str] = field(default_factory=Counter)
    owner_values: Counter[str] = field(default_factory=Counter)
    scanned: int = 0  # data rows read for the values above


def _field_of(columns: dict[int, str], i: int) -> str:
    target = columns.get(i)
    if target is None:
        return IGNORE
    return CUSTOM if target.startswith("_x_") else target


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, Decimal):
        return f"{value:,f}".rstrip("0").rstrip(".") if "." in f"{value}" else f"{value:,}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _becomes(item: Any) -> list[tuple[str, str]]:
    out = [
        (f.name, _shown(getattr(item, f.name)))
        for f in dataclasses.fields(item)
        if f.name not in _HIDDEN and getattr(item, f.name) not in (None, "", [], {})
    ]
    extra = getattr(item, "attributes", None) or getattr(item, "payload", None) or {}
    out += [(f"custom: {k}", _shown(v)) for k, v in extra.items() if not k.startswith("_")]
    return out


def preview(
    path: str | Path,
    entity: str,
    *,
    overrides: dict[str, str],
    encoding: str | None,
    now: datetime,
    sample: int = 8,
    scan: int = 20_000,
    max_chars: int = 65_536,
    custom: CustomLimits | None = None,
) -> Preview:
    sniffed = sniff(path, encoding=encoding)
    out = Preview(entity, sniffed.encoding, sniffed.delimiter, sniffed.headers)
    chosen = map_headers(entity, sniffed.headers, {k: v for k, v in overrides.items() if k.strip()})
    guessed = map_headers(entity, sniffed.headers, {})
    samples: list[list[str]] = [[] for _ in sniffed.headers]
    try:
        src = open_csv(path, entity, overrides=overrides, encoding=sniffed.encoding)
    except ImportFileError as exc:
        out.error = str(exc)
        src = None
    if src is not None:
        parse = parser(entity, now, max_chars, custom, now)
        for row in rows(src):
            out.scanned += 1
            if len(out.rows) < sample:
                out.rows.append(_sample(row.line, row.cells, row.fields, row.error, parse))
            for i, cell in enumerate(row.cells[: len(samples)]):
                if cell.strip() and len(samples[i]) < 3:
                    samples[i].append(cell.strip()[:80])
            if entity == "people":
                for name in ("lifecycle_stage", "lead_status"):
                    if value := str(row.fields.get(name) or "").strip():
                        out.stage_values[value[:100]] += 1
                if value := str(row.fields.get("owner") or "").strip():
                    out.owner_values[value[:320]] += 1
            if out.scanned >= scan:
                break
    out.columns = [
        Column(i, h, _field_of(chosen, i), _field_of(guessed, i), samples[i])
        for i, h in enumerate(sniffed.headers)
    ]
    return out


def _sample(line: int, cells: list[str], fields: dict[str, Any], error: str | None, parse: Any) -> SampleRow:
    shown_cells = [c[:80] for c in cells[:50]]
    if error:
        return SampleRow(line, shown_cells, "rejected", [], [error])
    try:
        item = parse(fields)
    except InvalidInput as exc:
        return SampleRow(line, shown_cells, "rejected", [], [str(exc)])
    attributes = getattr(item, "attributes", None)
    problems = (attributes.pop("_warnings", []) if isinstance(attributes, dict) else []) + list(
        getattr(item, "warnings", [])
    )
    return SampleRow(line, shown_cells, "warning" if problems else "lands", _becomes(item), problems)
