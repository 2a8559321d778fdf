"""Saved views: a person's named filter sets, per list. Personal: nobody sees another's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.lists.model import MAX_VIEWS, ViewError, clean_view
from leadloop.store.tables import SavedView


@dataclass(frozen=True)
class View:
    id: int
    list_name: str
    name: str
    query: str

    @property
    def url(self) -> str:
        return f"/{self.list_name}" + (f"?{self.query}" if self.query else "")


def _view(row: SavedView) -> View:
    return View(row.id, row.list_name, row.name, row.query)


def views_of(session: Session, user_id: int, list_name: str | None = None) -> list[View]:
    stmt = sa.select(SavedView).where(SavedView.user_id == user_id)
    if list_name:
        stmt = stmt.where(SavedView.list_name == list_name)
    return [_view(r) for r in session.scalars(stmt.order_by(SavedView.list_name, SavedView.name))]


def get_view(session: Session, user_id: int, view_id: int) -> View:
    """Another person's view is "not found", like one that never existed."""
    row = session.get(SavedView, view_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"there is no saved view #{view_id} of yours; pick one from the list's Views menu")
    return _view(row)


def save_view(
    session: Session, user_id: int, list_name: str, name: str, query: str, *, now: datetime
) -> View:
    try:
        v = clean_view(list_name, name, query)
    except ViewError as exc:
        raise InvalidInput(str(exc)) from exc
    mine = views_of(session, user_id, v.list_name)
    if any(m.name.casefold() == v.name.casefold() for m in mine):
        raise Conflict(f"you have a view called “{v.name}” on {v.list_name} already: choose another name")
    if len(mine) >= MAX_VIEWS:
        raise InvalidInput(f"you keep {MAX_VIEWS} views on {v.list_name} already: delete one first")
    row = SavedView(user_id=user_id, list_name=v.list_name, name=v.name, query=v.query, created_at=now)
    session.add(row)
    session.flush()
    return _view(row)


def delete_view(session: Session, user_id: int, view_id: int) -> View:
    view = get_view(session, user_id, view_id)
    session.execute(sa.delete(SavedView).where(SavedView.id == view_id))
    return view
