"""The stored match models: versions of the matcher fitted on this warehouse, one of them active.
Reading the active one is on every capture's path, so its parsing is cached by row and content."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import NotFound
from leadloop.identity.fitted import (
    DEFAULT_MODEL,
    CorruptMatchModel,
    StaleMatchModel,
    model_from_json,
    model_to_json,
)
from leadloop.identity.model import Model
from leadloop.store.tables import MatchModelRow


@dataclass(frozen=True)
class InUse:
    """The model the matchers use now: a stored one (its id), or the careful default (id None),
    with the reason when an active model exists but cannot be used."""

    model: Model
    id: int | None = None
    created_at: datetime | None = None
    pairs: int = 0
    problem: str | None = None
    stale: bool = False  # the problem is only that it was fitted on older comparison levels

    def describe(self) -> str:
        if self.problem:
            return f"the careful default ({self.problem})"
        if self.id is None:
            return "the careful default (no fitted model is active)"
        when = f"{self.created_at:%Y-%m-%d %H:%M} UTC, " if self.created_at else ""
        return f"the fitted model #{self.id} ({when}{self.pairs:,} candidate pairs)"


DEFAULT = InUse(DEFAULT_MODEL)


@lru_cache(maxsize=8)
def _parsed(model_id: int, params: str) -> Model:
    return model_from_json(json.loads(params))


def parse_row(row: Any) -> Model:
    """The row's model; CorruptMatchModel or StaleMatchModel, naming the row, when it cannot be used."""
    try:
        return _parsed(row.id, json.dumps(row.params, sort_keys=True))
    except (CorruptMatchModel, StaleMatchModel) as exc:
        raise type(exc)(f"match model #{row.id} cannot be used: {exc}") from None


_ACTIVE = sa.select(
    MatchModelRow.id, MatchModelRow.params, MatchModelRow.created_at, MatchModelRow.pairs
).where(MatchModelRow.status == "active")
# Two activations racing on PostgreSQL could each retire what they saw and leave two active rows:
# the newest decides, the same one everywhere.
_ACTIVE = _ACTIVE.order_by(MatchModelRow.id.desc()).limit(1)


def active_row(session: Session) -> sa.Row[tuple[int, dict[str, object], datetime, int]] | None:
    return session.execute(_ACTIVE).first()


def in_use(session: Session) -> InUse:
    """The active fitted model, else the careful default. An active model that cannot be used
    comes back as the default with its `problem`: the caller decides whether to go on with it."""
    row = active_row(session)
    if row is None:
        return DEFAULT
    try:
        return InUse(parse_row(row), row.id, row.created_at, row.pairs)
    except CorruptMatchModel as exc:
        return InUse(DEFAULT_MODEL, problem=str(exc))
    except StaleMatchModel as exc:
        return InUse(DEFAULT_MODEL, problem=str(exc), stale=True)


def store(session: Session, model: Model, *, now: datetime, pairs: int, people: int, active: bool) -> int:
    """A fitted model, as a draft or as the active one (the previous one retiring)."""
    if active:
        _retire_active(session)
    row_id = session.scalar(
        sa.insert(MatchModelRow)
        .returning(MatchModelRow.id)
        .values(
            created_at=now,
            pairs=pairs,
            people=people,
            params=model_to_json(model),
            status="active" if active else "draft",
            activated_at=now if active else None,
        )
    )
    assert row_id is not None  # RETURNING of an INSERT
    return row_id


def load(session: Session, model_id: int) -> MatchModelRow:
    row = session.get(MatchModelRow, model_id)
    if row is None:
        raise NotFound(f"there is no match model #{model_id}; `leadloop matcher list` shows them")
    return row


def make_active(session: Session, model_id: int, *, now: datetime) -> None:
    _retire_active(session)
    session.execute(
        sa.update(MatchModelRow).where(MatchModelRow.id == model_id).values(status="active", activated_at=now)
    )


def _retire_active(session: Session) -> None:
    session.execute(sa.update(MatchModelRow).where(MatchModelRow.status == "active").values(status="retired"))


def every(session: Session) -> list[MatchModelRow]:
    """Every stored model, newest first."""
    return list(session.scalars(sa.select(MatchModelRow).order_by(MatchModelRow.id.desc())))
