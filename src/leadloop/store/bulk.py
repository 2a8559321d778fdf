"""Dialect-aware bulk statements shared by every capability."""

from __future__ import annotations

import collections
import functools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# SQLite allows 32,766 bound parameters; PostgreSQL 65,535. Keep IN lists well below both.
IN_CHUNK = 900


class RaceLost(Exception):
    """A row this transaction meant to create was created by a concurrent one first: retry the
    whole unit of work, which will then find that row."""


def connection(session: Session) -> sa.Connection:
    """The session's connection for this unit of work, looked up once: Session.connection() costs
    about 70 us, and a capture asks for it a dozen times."""
    conn: sa.Connection | None = session.info.get("leadloop_conn")
    if conn is None or conn.closed or not conn.in_transaction():
        conn = session.connection()
        session.info["leadloop_conn"] = conn
    return conn


# Rows fetched at a time by `read_columns`.
READ_CHUNK = 2000


def read_columns(session: Session, sql: str, params: Sequence[Any] = ()) -> list[list[Any]]:
    """A whole-table read (a what-if, an activation) as one list per column, straight from the
    driver's cursor, a chunk of rows at a time. Only constant SQL: every value is a bound parameter.

    Why chunks: with `fetchall()`, tens of thousands of row tuples are alive at once, and each
    few hundred of them sets off the cycle collector, which then walks the whole heap again and
    again (a 50,000-row read in a process holding the web app: 214 ms median with fetchall, 92 ms
    this way, 88 ms with the collector off). Column lists of ints, floats and strings give it
    nothing to walk.
    """
    cursor = connection(session).connection.cursor()
    try:
        cursor.execute(sql, tuple(params))
        return _drain(cursor)
    finally:
        cursor.close()


def _drain(cursor: Any) -> list[list[Any]]:
    """A DB-API cursor's pending rows as one list per column, a chunk at a time."""
    columns: list[list[Any]] = [[] for _ in cursor.description or ()]
    while rows := cursor.fetchmany(READ_CHUNK):
        for column, values in zip(columns, zip(*rows, strict=True), strict=True):
            column.extend(values)
    return columns


def select_columns(session: Session, statement: Any) -> list[list[Any]]:
    """`statement` executed as usual (its parameters bound by their types), its rows read straight
    from the driver's cursor into one list per column, `read_columns`' way: raw driver values (no
    result processing: cast in SQL what must arrive as text) and no row objects."""
    result = connection(session).execute(statement)
    try:
        return _drain(result.cursor)
    finally:
        result.close()


def table_columns(session: Session, columns: Sequence[Any], *, where: str = "") -> list[list[Any]]:
    """SELECT `columns` (of one table) [WHERE `where`, a constant condition] by `read_columns`,
    each column's result processor (Numeric -> Decimal on SQLite...) applied once per distinct
    value, so the values are the ones the ORM would give."""
    conn = connection(session)
    table = columns[0].table.name
    sql = f"SELECT {', '.join(c.name for c in columns)} FROM {table}"  # noqa: S608 - metadata names only
    out = read_columns(session, sql + (f" WHERE {where}" if where else ""))
    for i, col in enumerate(columns):
        proc = col.type.result_processor(conn.dialect, None)
        if proc is not None:
            done = {v: proc(v) for v in set(out[i])}
            out[i] = list(map(done.__getitem__, out[i]))
    return out


def _insert(session: Session, table: Any) -> Any:
    return (
        postgresql.insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(table)
    )


def insert_ignore(session: Session, table: Any, rows: list[dict[str, Any]], conflict: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING."""
    if rows:
        session.execute(_insert(session, table).on_conflict_do_nothing(index_elements=list(conflict)), rows)


def insert_new(
    session: Session,
    table: Any,
    rows: list[dict[str, Any]],
    conflict: Sequence[str] | None,
    returning: Sequence[str],
) -> list[Any]:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING: exactly the rows this statement created,
    even when a concurrent transaction inserted the same keys."""
    if not rows:
        return []
    # conflict=None: any unique constraint (the table has several) makes the row a no-op.
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(conflict) if conflict else None)
    return list(session.execute(stmt.returning(*(table.c[c] for c in returning)), rows).all())


def chunks(values: Iterable[Any], size: int = IN_CHUNK) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for v in values:
        batch.append(v)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def select_in(
    session: Session, columns: Sequence[Any], key: Any, values: Iterable[Any], *, tuples: bool = False
) -> list[Any]:
    """SELECT columns WHERE key IN (values), chunked under the parameter limits. Rows are named
    tuples, or (`tuples`, for a hot loop that unpacks them) the driver's plain ones.

    Hot path of every capture: issued as driver SQL with each column's result processor applied,
    because building and compiling the statement costs SQLAlchemy far more than running it.
    """
    distinct = list({v for v in values if v is not None})
    if not distinct:
        return []
    conn = connection(session)
    plan = _plan(conn.dialect, tuple(columns), key)
    out: list[Any] = []
    # Executed through SQLAlchemy (its errors wrapped: a locked SQLite is an OperationalError that
    # the capture retries), the rows fetched from the driver's cursor at once: SQLAlchemy's row
    # objects cost ~3 us a row on top (an import's identity reads ~15 rows a person).
    for part in chunks(distinct):
        params = tuple(plan.key_proc(v) for v in part) if plan.key_proc else tuple(part)
        result = conn.exec_driver_sql(plan.sql(len(part)), params)
        try:
            rows = result.cursor.fetchall()
        finally:
            result.close()
        if plan.any_procs:  # (then tuples or not, named: no hot caller needs processors)
            procs = plan.procs
            out.extend(
                plan.make(*(p(v) if p else v for p, v in zip(procs, row, strict=True))) for row in rows
            )
        elif tuples:
            out.extend(rows)
        else:
            make = plan.make
            out.extend(make(*row) for row in rows)
    return out


class _Plan:
    def __init__(self, dialect: Any, columns: tuple[Any, ...], key: Any) -> None:
        cols = [c for col in columns for c in (col.columns if isinstance(col, sa.Table) else [col])]
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        table = key.table.name
        select_list = ", ".join(f"{c.table.name}.{c.name}" for c in cols)
        # Only metadata names are interpolated; every value is a bound parameter.
        self.prefix = f"SELECT {select_list} FROM {table} WHERE {table}.{key.name} IN ("  # noqa: S608
        self.procs = [c.type.result_processor(dialect, None) for c in cols]
        self.any_procs = any(self.procs)
        self.key_proc = key.type.bind_processor(dialect)
        self.make = _row_type(tuple(c.name for c in cols))

    @functools.lru_cache(maxsize=64)  # noqa: B019 - plans live as long as the process
    def sql(self, n: int) -> str:
        return self.prefix + ", ".join([self.mark] * n) + ")"


_plans: dict[tuple[Any, ...], _Plan] = {}


def _plan(dialect: Any, columns: tuple[Any, ...], key: Any) -> _Plan:
    cache_key = (dialect.name, *(id(c) for c in columns), id(key))
    plan = _plans.get(cache_key)
    if plan is None:
        plan = _plans[cache_key] = _Plan(dialect, columns, key)
    return plan


@functools.cache
def _row_type(names: tuple[str, ...]) -> Any:
    return collections.namedtuple("Row", names, rename=True)


def _fast_insert_sqlite(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT OR IGNORE through the DBAPI's executemany, applying bind processors only to the
    columns that have one: SQLAlchemy's per-row statement machinery costs 5-10x the insert itself."""
    conn = connection(session)
    dialect = conn.dialect
    cols = list(rows[0])
    procs = [(i, p) for i, c in enumerate(cols) if (p := table.c[c].type.bind_processor(dialect)) is not None]
    # Column names were checked against the table above (table.c[c]); values are bound parameters.
    sql = f"INSERT OR IGNORE INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
    get = operator.itemgetter(*cols)
    params: list[Any] = []
    for r in rows:
        values = list(get(r)) if len(cols) > 1 else [get(r)]
        for i, proc in procs:
            values[i] = proc(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


def insert_created(
    session: Session, table: Any, rows: list[dict[str, Any]], *, keys: Sequence[str], returning: Sequence[str]
) -> list[Any]:
    """Insert rows, skipping those whose unique `keys` exist; return `returning` of the rows this call
    created (in no particular order).

    PostgreSQL: one INSERT ... ON CONFLICT DO NOTHING RETURNING, exact under concurrency.
    SQLite: a write transaction holds the database lock (BEGIN IMMEDIATE), so reading which keys
    exist, inserting the rest and reading them back is just as exact, and far faster.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "sqlite":
        return insert_new(session, table, rows, None, returning)
    existing: dict[str, set[Any]] = {k: set() for k in keys}
    for k in keys:
        existing[k] = {r[0] for r in select_in(session, (table.c[k],), table.c[k], (row[k] for row in rows))}
    fresh: list[dict[str, Any]] = []
    seen: dict[str, set[Any]] = {k: set() for k in keys}
    for row in rows:
        if any(row[k] is not None and (row[k] in existing[k] or row[k] in seen[k]) for k in keys):
            continue
        for k in keys:
            if row[k] is not None:
                seen[k].add(row[k])
        fresh.append(row)
    if not fresh:
        return []
    _fast_insert_sqlite(session, table, fresh)
    primary = keys[0]
    cols = tuple(table.c[c] for c in returning)
    out = select_in(session, cols, table.c[primary], (r[primary] for r in fresh if r[primary] is not None))
    for k in keys[1:]:
        extra = [r for r in fresh if r[primary] is None and r[k] is not None]
        out.extend(select_in(session, cols, table.c[k], (r[k] for r in extra)))
    return out


def replace_keys(session: Session, table: Any, owner: str, keys: dict[int, list[str]]) -> None:
    """Make `keys` the only rows of `table` (key, <owner>) for these owners: a lookup index kept
    beside its rows (people's blocking keys, accounts' name keys). An empty list unindexes."""
    conn = connection(session)
    column = table.c[owner]
    for part in chunks(list(keys)):
        conn.execute(sa.delete(table).where(column.in_(part)))
    insert_ignore(
        session,
        table,
        [{"key": k[:200], owner: oid} for oid, ks in keys.items() for k in dict.fromkeys(ks)],
        ["key", owner],
    )
