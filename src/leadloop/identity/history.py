"""The identity audit trail as the pages and the API show it: merges and their undoing, newest first."""

from __future__ import annotations

from sqlalchemy.orm import Session

from leadloop.identity.merge_record import MergeEntry, merge_trail
from leadloop.identity.sides import ACCOUNTS, PEOPLE


def merge_history(session: Session, person_id: int | None = None, *, limit: int = 200) -> list[MergeEntry]:
    """The identity audit trail: every merge (and its undoing), newest first; one person's or all."""
    return merge_trail(
        session, PEOPLE, person_id, facts=lambda r: {"probability": r.probability}, limit=limit
    )


def account_merge_history(
    session: Session, account_id: int | None = None, *, limit: int = 200
) -> list[MergeEntry]:
    """Account merges (and their undoing), newest first; one account's or all."""
    return merge_trail(
        session,
        ACCOUNTS,
        account_id,
        facts=lambda r: {"similarity": r.similarity, "leads": r.snapshot.get("leads_outcome", {})},
        limit=limit,
    )
