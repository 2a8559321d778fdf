"""Monthly partitions of `activities` on PostgreSQL (ADR 0043). The migration that partitions an
existing warehouse (0037) and the daily housekeeping that keeps months ahead both use these.

A month's partition is `activities_yYYYYmMM`; rows with no month of their own (far in the past or
the future) wait in `activities_default`, and move into a month's partition when it is made."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

AHEAD_MONTHS = 3  # months made ahead of today, so a capture never waits for DDL
HISTORY_MONTHS = 36  # older activities stay in the default partition
DEFAULT = "activities_default"


def month_of(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months(first: date, last: date) -> list[date]:
    """Every month from `first`'s to `last`'s, both included."""
    out, m = [], month_of(first)
    while m <= month_of(last):
        out.append(m)
        m = next_month(m)
    return out


def name_of(month: date) -> str:
    return f"activities_y{month.year}m{month.month:02d}"


def is_partitioned(conn: sa.Connection) -> bool:
    return bool(
        conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                "WHERE c.relname = 'activities' AND c.relnamespace = current_schema()::regnamespace"
            )
        )
    )


def existing(conn: sa.Connection) -> set[str]:
    return {
        name
        for (name,) in conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relname = 'activities' AND p.relnamespace = current_schema()::regnamespace"
            )
        )
    }


def ensure(conn: sa.Connection, wanted: Iterable[date]) -> list[str]:
    """Make the partition of each month that has none, moving that month's rows out of the default
    partition into it first (PostgreSQL refuses to attach a range the default partition holds rows
    of). Returns the partitions made."""
    have, made = existing(conn), []
    for month in wanted:
        name = name_of(month)
        if name in have:
            continue
        lo, hi = month.isoformat(), next_month(month).isoformat()
        conn.execute(sa.text(f"CREATE TABLE {name} (LIKE activities INCLUDING DEFAULTS)"))
        if DEFAULT in have:
            conn.execute(
                sa.text(
                    # The names are made from dates, never from input.
                    f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= :lo AND occurred_at < :hi "  # noqa: S608
                    f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
                ),
                {"lo": lo, "hi": hi},
            )
        conn.execute(
            sa.text(f"ALTER TABLE activities ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')")
        )
        made.append(name)
    return made


def ensure_ahead(conn: sa.Connection, today: date) -> list[str]:
    """This month's partition and the next AHEAD_MONTHS (the daily housekeeping's part)."""
    if not is_partitioned(conn):
        return []
    last = month_of(today)
    for _ in range(AHEAD_MONTHS):
        last = next_month(last)
    return ensure(conn, months(today, last))
