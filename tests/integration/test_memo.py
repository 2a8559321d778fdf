"""Values read once per transaction (store/memo.py): the active routing rules and the queues'
ids, which a batch routing hundreds of leads asks for hundreds of times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadloop.routing.repository import active_rules
from leadloop.store.db import Database
from leadloop.store.memo import forget, per_transaction
from tests.fixtures.routing import activate_rules

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
RULES = """\
name: inbox
version: 7
fallback: {queue: Sales inbox}
rules:
  - name: everyone to the inbox
    assign: {queue: Sales inbox}
"""


def test_a_value_is_read_once_a_transaction_and_again_in_the_next(db: Database) -> None:
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    with db.write() as s:
        assert [per_transaction(s, "k", read) for _ in range(3)] == [1, 1, 1]
        assert per_transaction(s, "other", read) == 2  # each key its own
        forget(s)
        assert per_transaction(s, "k", read) == 3
    with pytest.raises(RuntimeError), db.write() as s:
        assert per_transaction(s, "k", read) == 4
        raise RuntimeError("rolled back")
    with db.write() as s:
        assert per_transaction(s, "k", read) == 5


def test_rules_activated_in_the_transaction_are_the_ones_routing_reads(db: Database) -> None:
    with db.write() as s:
        shipped, shipped_id = active_rules(s)
        assert shipped_id is None
        activate_rules(s, RULES, now=NOW)
        rules, rules_id = active_rules(s)
        assert rules_id is not None and rules is not shipped
        assert [r.name for r in rules.rules] == ["everyone to the inbox"]
