"""The global suppression list: addresses and whole domains no marketing message ever goes to,
whatever anyone consented to. Admins keep it (page and API); a hard bounce or a complaint adds the
address (consent/reactions.py, in the transaction that records the activity). The send gate reads
it (gate.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.contract.normalise import clean_text, normalise_email
from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.store.bulk import insert_ignore, select_in
from leadloop.store.tables import Suppression

KINDS = ("address", "domain")
_DOMAIN = re.compile(r"(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    value: str
    reason: str | None
    source: str
    created_at: datetime


def parse(text: str) -> tuple[str, str]:
    """An address ("ann@acme.com") or a domain ("acme.com", "@acme.com"), normalised."""
    value = (clean_text(text) or "").lower()
    if not value:
        raise InvalidInput("value: give an e-mail address or a domain")
    if "@" in value and not value.startswith("@"):
        try:
            found = normalise_email(value)
        except InvalidInput as exc:
            raise InvalidInput(f"value: {exc}") from None
        assert found is not None
        return "address", found.address
    domain = value.lstrip("@").rstrip(".")
    if not _DOMAIN.fullmatch(domain):
        raise InvalidInput(f"value: {domain[:80]!r} is neither an e-mail address nor a domain like acme.com")
    return "domain", domain


def add(
    session: Session,
    text: str,
    *,
    reason: str | None,
    source: str,
    now: datetime,
    by_user_id: int | None = None,
) -> Entry:
    """Suppress an address or a domain; Conflict when it is listed already."""
    kind, value = parse(text)
    if session.scalar(sa.select(Suppression.id).where(Suppression.kind == kind, Suppression.value == value)):
        raise Conflict(f"{value} is on the suppression list already")
    insert_ignore(
        session,
        Suppression.__table__,
        [
            {
                "kind": kind,
                "value": value,
                "reason": (clean_text(reason) or "")[:300] or None,
                "source": source,
                "created_at": now,
                "by_user_id": by_user_id,
            }
        ],
        ["kind", "value"],
    )
    row = session.execute(
        sa.select(Suppression).where(Suppression.kind == kind, Suppression.value == value)
    ).scalar_one()
    return _entry(row)


def suppress_addresses(
    session: Session, entries: Iterable[tuple[str, str, str | None]], *, now: datetime
) -> list[str]:
    """Suppress each `(address, source, reason)` not listed yet, and return the addresses this call
    listed. Idempotent: an address already listed keeps its first entry (an admin's, or the first
    bounce's), so a retried webhook or a second bounce changes nothing. Not an address: skipped."""
    wanted: dict[str, dict[str, object]] = {}
    for text, source, reason in entries:
        try:
            kind, value = parse(text)
        except InvalidInput:
            continue
        if kind == "address":
            wanted.setdefault(
                value,
                {
                    "kind": kind,
                    "value": value,
                    "reason": (clean_text(reason) or "")[:300] or None,
                    "source": source,
                    "created_at": now,
                    "by_user_id": None,
                },
            )
    listed = {
        v
        for k, v in select_in(session, (Suppression.kind, Suppression.value), Suppression.value, wanted)
        if k == "address"
    }
    fresh = [row for value, row in wanted.items() if value not in listed]
    insert_ignore(session, Suppression.__table__, fresh, ["kind", "value"])
    return [str(row["value"]) for row in fresh]


def remove(session: Session, suppression_id: int) -> Entry:
    row = session.get(Suppression, suppression_id)
    if row is None:
        raise NotFound(f"there is no suppression #{suppression_id}")
    entry = _entry(row)
    session.delete(row)
    return entry


def listing(session: Session, *, q: str = "", limit: int = 500) -> list[Entry]:
    query = sa.select(Suppression).order_by(Suppression.id.desc()).limit(limit)
    if q:
        query = query.where(Suppression.value.contains(q.lower(), autoescape=True))
    return [_entry(r) for r in session.scalars(query)]


def _entry(row: Suppression) -> Entry:
    return Entry(row.id, row.kind, row.value, row.reason, row.source, row.created_at)
