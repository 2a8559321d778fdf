"""Reading and writing CSV the way people actually have it: odd encodings, semicolons, ragged rows.

`open_csv` checks the file as a whole (encoding, header, required columns) before anything is
written; `rows` then yields each record or the reason it cannot be taken.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from leadloop.contract.headers import map_headers
from leadloop.contract.vocab import ENTITY_FIELDS, REQUIRED_COLUMNS
from leadloop.core.errors import ImportFileError

# Parse fields of any size so that an oversized one is reported as a row error, not a crash.
csv.field_size_limit(256 * 1024 * 1024)

_CHUNK = 1 << 20
# A header wider than this is not a contact list; a data row wider than its header is rejected.
MAX_COLUMNS = 500


@dataclass
class CsvFile:
    path: Path
    entity: str
    encoding: str
    delimiter: str
    headers: list[str]
    columns: dict[int, str]
    sha256: str
    unmapped: list[str] = field(default_factory=list)

    def open_text(self) -> IO[str]:
        return open(self.path, encoding=self.encoding, newline="")


def _detect_encoding(path: Path) -> tuple[str, str]:
    """Returns (encoding, sha256). UTF-8 (BOM or not) first, then Latin-1 / Windows-1252."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head.startswith(b"PK\x03\x04"):
            raise ImportFileError(
                f"{path.name} is a zip or Excel workbook, not CSV: save it as 'CSV UTF-8' and import that"
            )
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            fh.seek(0)
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
            return "utf-16", digest.hexdigest()
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8_ok, has_c1, offset = True, False, 0
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            if b"\x00" in chunk:
                at = offset + chunk.index(b"\x00")
                raise ImportFileError(
                    f"{path.name} has a NUL byte at byte {at:,}: it is binary or UTF-16 without a BOM. "
                    "Save it as CSV in UTF-8"
                )
            if utf8_ok:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            if not utf8_ok and not has_c1:
                has_c1 = any(0x80 <= b <= 0x9F for b in chunk)
            offset += len(chunk)
        if utf8_ok:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
    if utf8_ok:
        return "utf-8-sig", digest.hexdigest()
    # Bytes 0x80-0x9F are control codes in Latin-1 but letters and quotes in Windows-1252.
    if has_c1:
        try:
            with open(path, encoding="cp1252") as fh:
                while fh.read(_CHUNK):
                    pass
            return "cp1252", digest.hexdigest()
        except UnicodeDecodeError:
            pass
    return "latin-1", digest.hexdigest()


def _sniff_delimiter(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What a file is before anyone says what its rows are: how it is written, and its header."""

    encoding: str
    delimiter: str
    headers: list[str]
    sha256: str


def sniff(path: str | Path, *, encoding: str | None = None) -> Sniffed:
    """Encoding, separator and header row, or ImportFileError saying what is wrong with the file."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise ImportFileError(f"{path.name} is empty")
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"unknown encoding {encoding!r}") from None
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
    else:
        encoding, sha = _detect_encoding(path)
    try:
        with open(path, encoding=encoding, newline="") as fh:
            sample = fh.read(64 * 1024)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name} is not {encoding}: {exc}") from None
    delimiter = _sniff_delimiter(sample)
    headers = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    if not any(h.strip() for h in headers):
        raise ImportFileError(f"{path.name} has no header row: the first line must name the columns")
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(
            f"{path.name} has {len(headers):,} columns in its header; an import takes at most "
            f"{MAX_COLUMNS:,}: remove the columns you do not need"
        )
    return Sniffed(encoding, delimiter, headers, sha)


def open_csv(
    path: str | Path,
    entity: str,
    *,
    overrides: dict[str, str] | None = None,
    encoding: str | None = None,
) -> CsvFile:
    path = Path(path)
    if entity not in ENTITY_FIELDS:
        raise ImportFileError(f"unknown entity {entity!r}; use one of {', '.join(ENTITY_FIELDS)}")
    sniffed = sniff(path, encoding=encoding)
    encoding, sha, delimiter, headers = sniffed.encoding, sniffed.sha256, sniffed.delimiter, sniffed.headers
    overrides = overrides or {}
    missing_headers = [k for k in overrides if k not in [h.strip() for h in headers]]
    if missing_headers:
        raise ImportFileError(
            f"the mapping names column(s) not in the file: {', '.join(missing_headers)}; "
            f"the file has: {', '.join(h.strip() for h in headers)}"
        )
    columns = map_headers(entity, headers, overrides)
    # Mapping to a field outside the contract is allowed: it becomes a custom attribute.
    seen: dict[str, str] = {}
    for i, fieldname in columns.items():
        if fieldname in seen and not fieldname.startswith("_x_"):
            raise ImportFileError(
                f"columns {seen[fieldname]!r} and {headers[i]!r} both map to {fieldname!r}: map one "
                f"of them to another field, or ignore it ({headers[i].strip()}=-)"
            )
        seen[fieldname] = headers[i]
    present = set(columns.values())
    for group in REQUIRED_COLUMNS[entity]:
        if not present.intersection(group):
            raise ImportFileError(
                f"{path.name} has no {' or '.join(group)} column, which {entity} need. "
                f"Columns found: {', '.join(h.strip() for h in headers)}. "
                f"Map one of them to {group[0]} (on the command line: --map 'Your Header={group[0]}')"
            )
    unmapped = [headers[i] for i, f in columns.items() if f.startswith("_x_")]
    return CsvFile(path, entity, encoding, delimiter, headers, columns, sha, unmapped)


@dataclass(slots=True)
class Row:
    line: int
    cells: list[str]
    fields: dict[str, Any]
    error: str | None = None


def rows(src: CsvFile) -> Iterator[Row]:
    """Each data row as a field map, or with `error` set to the reason it cannot be taken."""
    width = len(src.headers)
    with src.open_text() as fh:
        reader = csv.reader(fh, delimiter=src.delimiter)
        next(reader, None)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Row(reader.line_num, [], {}, f"unreadable CSV: {exc}")
                continue
            if not cells or not any(c.strip() for c in cells):
                continue
            if len(cells) != width:
                extra_empty = len(cells) > width and not any(c.strip() for c in cells[width:])
                if not extra_empty:
                    yield Row(
                        reader.line_num,
                        cells,
                        {},
                        f"ragged row: {len(cells)} cells where the header has {width}",
                    )
                    continue
                cells = cells[:width]
            fields: dict[str, Any] = {}
            for i, fieldname in src.columns.items():
                value = cells[i]
                if value == "":
                    continue
                key = fieldname[3:] if fieldname.startswith("_x_") else fieldname
                fields[key] = value
            yield Row(reader.line_num, cells, fields)


# Cells that a spreadsheet would run as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> str:
    """Neutralise a cell that a spreadsheet would execute; plain numbers stay numbers."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START):
        if text[0] in "+-":
            try:
                float(text)
                return text
            except ValueError:
                pass
        return "'" + text
    return text


class CsvWriter:
    """UTF-8 CSV with formula neutralisation on every cell."""

    def __init__(self, fh: IO[str], header: list[str]) -> None:
        self._w = csv.writer(fh)
        self._w.writerow(header)

    def write(self, cells: list[Any]) -> None:
        self._w.writerow([safe_cell(c) for c in cells])


def read_plain(path: str | Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Any CSV by its own headers (encoding and separator detected as for imports): the headers, and
    (line, {header: cell}) for each non-empty row. A ragged row raises with its line."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise ImportFileError(f"{path.name} is empty")
    encoding, _sha = _detect_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(64 * 1024)
    delimiter = _sniff_delimiter(sample)
    header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    headers = [h.strip() for h in header]
    if not any(headers):
        raise ImportFileError(f"{path.name} has no header row")

    def gen() -> Iterator[tuple[int, dict[str, str]]]:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            next(reader, None)
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(headers) and any(c.strip() for c in cells[len(headers) :]):
                    raise ImportFileError(
                        f"line {reader.line_num}: {len(cells)} cells where the header has {len(headers)}"
                    )
                yield reader.line_num, dict(zip(headers, cells, strict=False))

    return headers, gen()
