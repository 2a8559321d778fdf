"""The mailing lists of direct-mail steps (`direct_mail: {via: list}`): which pieces each sequence
has people listed for, and the list of one sequence as rows for a print house's CSV.

The export reads; it never marks anything (ADR 0033). A GET that changed what the next GET returns
would lose rows to a browser's prefetch or a download that broke halfway; instead every row says
when it was listed, and `since` takes only the rows listed from then on (the time of the last
export, which the audit log keeps).

Each row carries the address as it is at export time, checked again by the same rule as at the
step (`postal.check_address`): a corrected address is used, one that was removed since (an erasure
empties it) is left out. A person merged into another is mailed at the survivor's address, once
per piece. People who withdrew from everything were taken off the lists when they did
(`reactions.on_people_opted_out`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.access.model import EVERYTHING, Scope
from leadloop.access.repository import person_clause
from leadloop.lists.model import EXPORT_LIMIT
from leadloop.nurture.postal import check_address
from leadloop.nurture.repository import survivors
from leadloop.store.bulk import chunks
from leadloop.store.tables import Account, DirectMail, Person, SequenceRow

HEADER = [
    "name",
    "company",
    "street",
    "postcode",
    "city",
    "state",
    "country",
    "piece",
    "enrolment",
    "listed_at",
]


def known_sequence(session: Session, name: str) -> bool:
    """Was a sequence of this name ever saved (any version, any status)?"""
    return session.scalar(sa.select(SequenceRow.id).where(SequenceRow.name == name).limit(1)) is not None


def pieces(session: Session) -> dict[str, list[tuple[str, int]]]:
    """Sequence name -> [(piece, people listed)], for the links to each list."""
    out: dict[str, list[tuple[str, int]]] = {}
    for name, piece, n in session.execute(
        sa.select(DirectMail.sequence_name, DirectMail.piece, sa.func.count())
        .group_by(DirectMail.sequence_name, DirectMail.piece)
        .order_by(DirectMail.sequence_name, DirectMail.piece)
    ):
        out.setdefault(name, []).append((piece, int(n)))
    return out


def rows(
    session: Session,
    sequence: str,
    *,
    piece: str | None = None,
    since: datetime | None = None,
    scope: Scope = EVERYTHING,
) -> Iterator[tuple[Any, ...]]:
    """The list of `sequence` (one piece, or all), oldest first, in HEADER's order: the people the
    viewer may see, whose address is complete now, each once per piece."""
    stmt = sa.select(
        DirectMail.person_id, DirectMail.piece, DirectMail.enrolment_id, DirectMail.listed_at
    ).where(DirectMail.sequence_name == sequence)
    if piece is not None:
        stmt = stmt.where(DirectMail.piece == piece)
    if since is not None:
        stmt = stmt.where(DirectMail.listed_at >= since)
    listed = session.execute(stmt.order_by(DirectMail.id).limit(EXPORT_LIMIT)).all()
    seen: set[tuple[int, str]] = set()
    for part in chunks(listed):
        live = survivors(session, {r.person_id for r in part})
        people = _addresses(session, set(live.values()), scope)
        for r in part:
            pid = live.get(r.person_id)
            if pid is None or pid not in people or (pid, r.piece) in seen:
                continue
            address = check_address(people[pid]).address
            if address is None:
                continue
            seen.add((pid, r.piece))
            yield (
                address.name,
                address.company,
                address.street,
                address.postcode,
                address.city,
                address.state,
                address.country,
                r.piece,
                r.enrolment_id,
                r.listed_at,
            )


def _addresses(session: Session, person_ids: set[int], scope: Scope) -> dict[int, dict[str, Any]]:
    if not person_ids:
        return {}
    found = session.execute(
        sa.select(
            Person.id,
            Person.first_name,
            Person.last_name,
            sa.func.coalesce(Account.name, Person.company).label("company"),
            Person.street,
            Person.postcode,
            Person.city,
            Person.state,
            Person.country,
        )
        .outerjoin(Account, Account.id == Person.account_id)
        .where(Person.id.in_(person_ids), person_clause(scope))
    ).all()
    return {r.id: dict(r._mapping) for r in found}
