"""Values read once per unit of work: the active routing rules, a queue's id. A batch that routes
hundreds of leads in one transaction asks for them hundreds of times, and they change only
through a write that calls `forget` (a document activated)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from leadloop.store.bulk import connection

T = TypeVar("T")
_KEY = "leadloop.memo"


def per_transaction(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """`read()` the first time in this transaction, its value after: a new transaction (after a
    commit or a rollback) reads again."""
    tx = connection(session).get_transaction()
    held: tuple[Any, dict[Hashable, Any]] | None = session.info.get(_KEY)
    if held is None or held[0] is not tx:
        held = (tx, {})
        session.info[_KEY] = held
    memo = held[1]
    if key not in memo:
        memo[key] = read()
    value: T = memo[key]
    return value


def forget(session: Session) -> None:
    """Drop what this transaction remembered: a write changed what the values were read from."""
    session.info.pop(_KEY, None)
