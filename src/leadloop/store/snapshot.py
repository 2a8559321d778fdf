"""Rows as JSON and back, for snapshots an undo restores exactly (merges keep one per row they
change): datetimes as ISO text, money as decimal text, every column of the table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from leadloop.store.types import UTCDateTime


def to_json(table: sa.Table, row: Any) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        return str(v) if isinstance(v, Decimal) else v

    mapping = row._mapping
    return {c.name: plain(mapping[c.name]) for c in table.c}


def from_json(table: sa.Table, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in table.c:
        v = data[c.name]
        if v is not None and isinstance(c.type, UTCDateTime):
            v = datetime.fromisoformat(v)
        elif v is not None and isinstance(c.type, sa.Numeric) and not isinstance(c.type, sa.Float):
            v = Decimal(v)
        out[c.name] = v
    return out
