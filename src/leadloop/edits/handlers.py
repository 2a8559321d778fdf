"""Editing a person or an account: load, check who may, check nobody changed it meanwhile, write
the new values once, record the edit (who, when, old -> new) and pin the values by hand.

The edit is recorded in `record_edits` (append-only) and each value in `provenance` with method
"manual": capture (import, form, API), enrichment and merges leave a pinned field alone, so that a
later import does not silently undo what a person corrected (ADR 0021)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import Scope
from leadloop.access.repository import require_editor, require_visible
from leadloop.auth.model import Principal
from leadloop.core.errors import Conflict
from leadloop.core.events import RecordsEdited
from leadloop.core.reactions import publish
from leadloop.edits.model import (
    ACCOUNT_FIELDS,
    MANUAL,
    PERSON_FIELDS,
    EditedMeanwhile,
    as_json,
    changes,
    clean_account,
    clean_person,
)
from leadloop.identity.accounts import index_accounts
from leadloop.identity.resolve import resolve
from leadloop.store.tables import Account, Person, Provenance, RecordEdit, User

# A change to one of these may make the person match someone else: identity looks again (review only).
_MATCHED_ON = frozenset({"first_name", "last_name", "email", "phone", "postcode", "company", "city"})


@dataclass(frozen=True)
class Edited:
    entity: str
    entity_id: int
    changed: dict[str, tuple[Any, Any]]
    updated_at: datetime


def _locked(session: Session, entity: type[Person] | type[Account], row_id: int) -> Any:
    q = sa.select(entity).where(entity.id == row_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()  # two editors: the second waits, then sees the first one's time
    return session.scalars(q).one()


def _check_version(session: Session, noun: str, entity: str, row: Any, expected: datetime) -> None:
    if row.updated_at == expected:
        return
    last = session.execute(
        sa.select(User.email)
        .join(RecordEdit, RecordEdit.by_user_id == User.id)
        .where(RecordEdit.entity == entity, RecordEdit.entity_id == row.id, RecordEdit.at == row.updated_at)
    ).scalar()
    raise EditedMeanwhile(noun, row.updated_at, last)


def _record(
    session: Session,
    entity: str,
    row_id: int,
    changed: dict[str, tuple[Any, Any]],
    who: Principal,
    now: datetime,
) -> None:
    session.add(
        RecordEdit(
            entity=entity,
            entity_id=row_id,
            at=now,
            by_user_id=who.user_id,
            changes={f: [as_json(a), as_json(b)] for f, (a, b) in changed.items()},
        )
    )
    session.execute(
        sa.delete(Provenance).where(
            Provenance.entity == entity, Provenance.entity_id == row_id, Provenance.field.in_(list(changed))
        )
    )
    session.add_all(
        Provenance(
            entity=entity,
            entity_id=row_id,
            field=f,
            value=as_json(new),
            source=who.email,
            method=MANUAL,
            fetched_at=now,
        )
        for f, (_, new) in changed.items()
    )


def _apply(
    session: Session,
    row: Any,
    values: dict[str, Any],
    fields: dict[str, int],
    *,
    unique: tuple[str, str],
    expected_updated_at: datetime,
    who: Principal,
    now: datetime,
) -> dict[str, tuple[Any, Any]]:
    """Check the version, write what changed (with the columns derived from it), record the edit.
    `unique` is the column no other row may share and the kind of record it says it would be."""
    entity = "person" if isinstance(row, Person) else "account"
    _check_version(session, entity, entity, row, expected_updated_at)
    changed = changes({f: getattr(row, f) for f in fields}, values, fields)
    if not changed:
        return changed
    column, same = unique
    if values.get(column) and column in changed:
        table = type(row)
        other = session.scalar(
            sa.select(table.id).where(getattr(table, column) == values[column], table.id != row.id)
        )
        if other is not None:
            raise Conflict(
                f"{column.replace('email', 'e-mail')}: {entity} #{other} already has {values[column]}; if they are "
                f"the same {same}, merge them instead. Nothing was saved"
            )
    for f in changed:
        setattr(row, f, values[f])
    for derived, source in (("email_kind", "email"), ("name_key", "name")):
        if source in changed and derived in values:
            setattr(row, derived, values[derived])
    row.updated_at = now
    _record(session, entity, row.id, changed, who, now)
    session.flush()
    return changed


def edit_person(
    session: Session,
    person_id: int,
    given: dict[str, Any],
    *,
    expected_updated_at: datetime,
    who: Principal,
    scope: Scope,
    now: datetime,
) -> Edited:
    """Change the given fields of a person (None or "" clears one)."""
    require_visible(session, scope, Person, person_id)
    person = _locked(session, Person, person_id)
    require_editor(session, who, person.account_id, noun="person")
    values = clean_person(given, stored_country=person.country)
    changed = _apply(
        session,
        person,
        values,
        PERSON_FIELDS,
        unique=("email", "person"),
        expected_updated_at=expected_updated_at,
        who=who,
        now=now,
    )
    if _MATCHED_ON.intersection(changed):
        resolve(session, [person_id], now=now, auto_merge=False)
    if changed:
        publish(session, [RecordsEdited(frozenset({person_id}), frozenset(), now)], now=now)
    return Edited("person", person_id, changed, person.updated_at)


def edit_account(
    session: Session,
    account_id: int,
    given: dict[str, Any],
    *,
    expected_updated_at: datetime,
    who: Principal,
    scope: Scope,
    now: datetime,
) -> Edited:
    """Change the given fields of an account (None or "" clears one; the name cannot be cleared)."""
    require_visible(session, scope, Account, account_id)
    account = _locked(session, Account, account_id)
    require_editor(session, who, account_id, noun="account")
    changed = _apply(
        session,
        account,
        clean_account(given),
        ACCOUNT_FIELDS,
        unique=("domain", "company"),
        expected_updated_at=expected_updated_at,
        who=who,
        now=now,
    )
    if "name" in changed:
        index_accounts(session, [(account_id, account.name_key)])
    if changed:
        people = frozenset(session.scalars(sa.select(Person.id).where(Person.account_id == account_id)))
        publish(session, [RecordsEdited(people, frozenset({account_id}), now)], now=now)
    return Edited("account", account_id, changed, account.updated_at)


@dataclass(frozen=True)
class EditEntry:
    at: datetime
    by: str | None
    changes: dict[str, Any]


def history(session: Session, entity: str, entity_id: int, *, limit: int = 50) -> list[EditEntry]:
    """The edits made by hand to one record, newest first."""
    rows = session.execute(
        sa.select(RecordEdit.at, User.email, RecordEdit.changes)
        .outerjoin(User, User.id == RecordEdit.by_user_id)
        .where(RecordEdit.entity == entity, RecordEdit.entity_id == entity_id)
        .order_by(RecordEdit.at.desc(), RecordEdit.id.desc())
        .limit(limit)
    ).all()
    return [EditEntry(at, by, ch) for at, by, ch in rows]
