"""The use cases every kind of versioned document shares. Each takes the caller's session (one
transaction per request or command) and the kind; the kind's hooks do what differs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.core.errors import InvalidInput, NotFound
from leadloop.core.yamldoc import DocumentError
from leadloop.documents.model import Activation, D, DocumentKind, Draft
from leadloop.store.tables import DocumentComment, User, VersionedDocument


def rows(session: Session, kind: DocumentKind[Any]) -> list[VersionedDocument]:
    """Every saved version, newest first."""
    return list(session.scalars(sa.select(kind.table).order_by(kind.table.id.desc())))


def load(session: Session, kind: DocumentKind[D], row_id: int) -> tuple[VersionedDocument, D]:
    row = session.get(kind.table, row_id)
    if row is None:
        raise NotFound(f"there is no {kind.what} #{row_id}")
    return row, kind.parse(row.document)


def save_draft(session: Session, kind: DocumentKind[Any], text: str, *, now: datetime) -> Draft:
    """Validate (every problem with its line) and store as a draft; a bad document never gets here."""
    doc = kind.parse(text)
    refused = kind.refuse(session, doc, text)
    if refused:
        raise DocumentError(refused)
    row_id = kind.table.add_draft(
        session, name=doc.name, version=doc.version, text=text, now=now, what=kind.noun
    )
    return Draft(row_id, kind.warnings(doc))


def export(session: Session, kind: DocumentKind[Any]) -> str:
    """The active document as YAML (the shipped default until one is activated)."""
    return str(kind.active(session)[0].to_yaml())


def new_version(session: Session, kind: DocumentKind[Any], start: int | None = None) -> str:
    """The text to start editing: the active document (or saved version `start`) as the next
    version of its name, so that saving it does not collide with what exists."""
    doc = load(session, kind, start)[1] if start is not None else kind.active(session)[0]
    version = kind.table.next_version(session, doc.name, doc.version)
    return str(doc.model_copy(update={"version": version}).to_yaml())


def preview(
    session: Session, kind: DocumentKind[D], doc: D, *, now: datetime, limit: int | None = None
) -> dict[str, Any]:
    """What activating `doc` would change. Writes nothing."""
    return kind.preview(session, doc, now=now, limit=limit or kind.preview_limit).summary()


def activate(session: Session, kind: DocumentKind[Any], row_id: int, *, now: datetime) -> Activation:
    """Make a saved version the active one. The kind's own work runs first, so a refusal (a user
    the rules name does not exist) leaves the active version as it was."""
    _row, doc = load(session, kind, row_id)
    done = kind.activate(session, doc, now=now)
    kind.table.make_active(session, row_id, now=now)
    return done


MAX_COMMENT = 4000


@dataclass(frozen=True)
class Comment:
    at: datetime
    author: str
    text: str


def comment(
    session: Session, kind: DocumentKind[Any], row_id: int, text: str, *, user_id: int, now: datetime
) -> Comment:
    """A remark on saved version `row_id`: an empty or over-long one is refused, saying so."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("text: write the comment; an empty one is not saved")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(
            f"text: a comment is at most {MAX_COMMENT:,} characters; this one has {len(text):,}"
        )
    load(session, kind, row_id)  # NotFound for a version that does not exist
    session.add(DocumentComment(kind=kind.slug, document_id=row_id, user_id=user_id, at=now, text=text))
    author = session.scalar(sa.select(sa.func.coalesce(User.name, User.email)).where(User.id == user_id))
    return Comment(now, author or "", text)


def comments(session: Session, kind: DocumentKind[Any], row_id: int) -> list[Comment]:
    """Oldest first, with who wrote each."""
    return [
        Comment(at, author, text)
        for at, author, text in session.execute(
            sa.select(DocumentComment.at, sa.func.coalesce(User.name, User.email), DocumentComment.text)
            .join(User, User.id == DocumentComment.user_id)
            .where(DocumentComment.kind == kind.slug, DocumentComment.document_id == row_id)
            .order_by(DocumentComment.id)
        )
    ]
