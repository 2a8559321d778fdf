"""The two sides of identity, people and accounts, and what differs between them.

People and accounts are queued for review (queue.py), merged, unmerged and read back
(merge_record.py) the same way. What differs is named here once: their tables, the measure of how
alike a pair is, and the words a person reads. The measures really differ: a pair of people carries
the matcher's probability (0 to 1), a pair of accounts a name similarity (0 to 100).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from leadloop.store.tables import (
    Account,
    AccountMerge,
    Merge,
    Person,
    SuspectedAccountDuplicate,
    SuspectedDuplicate,
)


@dataclass(frozen=True)
class Side:
    noun: str  # "person", "account"
    plural: str  # "people", "accounts"
    reflexive: str  # merged into "themselves", "itself"
    rows: sa.Table  # the records merged: people, accounts
    merges: type[Merge] | type[AccountMerge]  # the merge record, the undo log and audit trail
    record: str  # what a merge record is called
    suspects: type[SuspectedDuplicate] | type[SuspectedAccountDuplicate]  # the review queue
    suspect: str  # what a queued pair is called
    key: str  # the queue's column holding the lower id of a pair
    score: str  # the queue's and the merge record's measure of how alike
    # Columns an unmerge leaves as they are: another capability writes them and puts them right
    # itself (people's `email_opt_in` is consent's, derived from its log: ADR 0027).
    kept: tuple[str, ...] = ()

    @property
    def lower(self) -> sa.ColumnElement[int]:
        """The queue's column holding the lower id of a pair (`other_id` holds the higher)."""
        column: sa.ColumnElement[int] = getattr(self.suspects, self.key)
        return column


PEOPLE = Side(
    noun="person",
    plural="people",
    reflexive="themselves",
    rows=Person.__table__,  # type: ignore[arg-type]
    merges=Merge,
    record="merge",
    suspects=SuspectedDuplicate,
    suspect="suspected duplicate",
    key="person_id",
    score="probability",
    kept=("email_opt_in",),
)
ACCOUNTS = Side(
    noun="account",
    plural="accounts",
    reflexive="itself",
    rows=Account.__table__,  # type: ignore[arg-type]
    merges=AccountMerge,
    record="account merge",
    suspects=SuspectedAccountDuplicate,
    suspect="suspected account duplicate",
    key="account_id",
    score="similarity",
)
