"""`leadloop dedupe FILE.csv`: one output row per input row (id, cluster_id, match_confidence)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from leadloop.contract.csvio import CsvWriter, read_plain
from leadloop.core.errors import ImportFileError
from leadloop.identity.columns import ColumnPlan, check_values, plan_columns
from leadloop.identity.match import Result, dedupe
from leadloop.identity.records import record

USABLE = ("first_name", "last_name", "full_name", "email", "phone")


@dataclass(frozen=True)
class FileResult:
    rows: int
    clusters: int
    duplicates: int  # rows that joined another row's cluster
    columns: dict[str, str]
    result: Result
    plan: ColumnPlan


def dedupe_file(
    path: Path,
    out: IO[str],
    *,
    id_column: str,
    threshold: float | None = None,
    gmail_dots: bool = True,
    plus_tags: bool = True,
    maps: Sequence[tuple[str, str]] = (),
) -> FileResult:
    """Cluster the file's rows. The threshold, when not given, is chosen from the model fitted on
    the file (see `model.choose_threshold`)."""
    headers, data = read_plain(path)
    if id_column not in headers:
        raise ImportFileError(f"no column {id_column!r}; the columns are: {', '.join(headers)}")
    plan = plan_columns(headers, maps, row_id=id_column)
    rows = list(data)
    plan = check_values(plan, [row for _, row in rows])
    if not any(f in plan.fields for f in USABLE):
        raise ImportFileError(
            "nothing to match on: the file needs a name, e-mail or phone column "
            f"(for example first_name, last_name, name, email, phone, or --map 'Column=first_name'); "
            f"it has: {', '.join(headers)}"
        )
    ids: list[str] = []
    seen: dict[str, int] = {}
    recs = []
    for line, row in rows:
        rid = (row.get(id_column) or "").strip()
        if not rid:
            raise ImportFileError(f"line {line}: the id column {id_column!r} is empty")
        if rid in seen:
            raise ImportFileError(
                f"line {line}: id {rid!r} is used again (first on line {seen[rid]}); ids must be unique"
            )
        seen[rid] = line
        ids.append(rid)
        recs.append(record(row, plan, gmail_dots=gmail_dots, plus_tags=plus_tags))
    result = dedupe(recs, threshold=threshold)
    first_of: dict[int, str] = {}
    for rid, c in zip(ids, result.cluster.tolist(), strict=True):
        first_of.setdefault(c, rid)
    writer = CsvWriter(out, ["id", "cluster_id", "match_confidence"])
    for k, rid in enumerate(ids):
        writer.write([rid, first_of[int(result.cluster[k])], f"{result.confidence[k]:.4f}"])
    clusters = len(first_of)
    return FileResult(len(ids), clusters, len(ids) - clusters, plan.fields, result, plan)
