"""The check capture asks of every batch of people (wired by the bootstrap into every session):
is any of them a person who was erased? Those are refused, with the reason, before anything of
them is stored, whichever door they came through (import, API, form, mail, sync)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.privacy.model import WHY, keys_of
from leadloop.store.bulk import select_in
from leadloop.store.tables import ErasedKey

if TYPE_CHECKING:
    from leadloop.capture.model import PersonIn


def erased_people(session: Session, items: list[PersonIn]) -> dict[int, str]:
    """Index -> why, for the items that identify an erased person."""
    if session.scalar(sa.select(ErasedKey.digest).limit(1)) is None:
        return {}  # nobody was ever erased: nothing to hash on the capture's hot path
    keys = [keys_of(p.email, p.external_id) for p in items]
    wanted = set().union(*keys)
    if not wanted:
        return {}
    found = {d for (d,) in select_in(session, (ErasedKey.digest,), ErasedKey.digest, wanted)}
    return {i: WHY for i, k in enumerate(keys) if k & found}
