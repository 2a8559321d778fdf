"""Saved per-form mappings: which of a customer's forms posts what under which name."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.forms import check_mapping
from leadloop.core.errors import InvalidInput
from leadloop.store.tables import FormMapping

MAX_KEY = 300


def form_key(form_id: str | None, referer: str | None) -> str | None:
    """A form is its hidden `form_id`, else the path of the page it was posted from."""
    if form_id and form_id.strip():
        return form_id.strip()[:MAX_KEY]
    if referer:
        parts = urlsplit(referer)
        if parts.netloc:
            return f"{parts.netloc}{parts.path or '/'}"[:MAX_KEY]
    return None


def saved_mapping(session: Session, key: str | None) -> dict[str, str]:
    if key is None:
        return {}
    found = session.scalar(sa.select(FormMapping.mapping).where(FormMapping.form_key == key))
    return dict(found or {})


def save_mapping(
    session: Session,
    key: str,
    mapping: dict[str, str],
    *,
    known: frozenset[str],
    by_user_id: int | None,
    now: datetime,
) -> FormMapping:
    key = key.strip()[:MAX_KEY]
    if not key:
        raise InvalidInput("form_key: give the form's form_id, or the page it is on (host/path)")
    clean = check_mapping(mapping, known=known)
    row = session.scalars(sa.select(FormMapping).where(FormMapping.form_key == key)).first()
    if row is None:
        row = FormMapping(form_key=key, mapping=clean, updated_at=now, updated_by_user_id=by_user_id)
        session.add(row)
    else:
        row.mapping, row.updated_at, row.updated_by_user_id = clean, now, by_user_id
    session.flush()
    return row


def all_mappings(session: Session) -> list[FormMapping]:
    return list(session.scalars(sa.select(FormMapping).order_by(FormMapping.form_key)))
