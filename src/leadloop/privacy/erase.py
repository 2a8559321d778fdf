"""Erasing a person at their request (GDPR Art. 17), in the caller's transaction.

The person's row stays, emptied of everything that names or reaches them, so that every activity
keeps its place: the lead, account, campaign and source reports add up to the same totals after an
erasure as before. The activities stay too, anonymised (payload emptied, the visitor cookie and the
URL's query dropped). The people merged into them are the same human and are emptied with them, and
the merge snapshots that could restore them are destroyed (such a merge can no longer be undone).
What identified them is kept only as hashes (model.py), so that no door brings them back. Consent
reacts to `PersonErased` (an opt-out from everything, in its log), and the erasure is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.auth import audit
from leadloop.core.errors import Conflict, NotFound
from leadloop.core.events import PersonErased
from leadloop.core.reactions import publish
from leadloop.privacy.model import ERASED_COLUMNS, keys_of
from leadloop.store.bulk import connection, insert_ignore
from leadloop.store.tables import (
    Activity,
    ErasedKey,
    Erasure,
    Merge,
    Note,
    Person,
    PersonKey,
    Provenance,
    RecordEdit,
    SuspectedDuplicate,
    Task,
    WebPageView,
)

ERASED_TEXT = "[erased]"


@dataclass(frozen=True)
class Erased:
    person_id: int  # the survivor: the one person the erasure was about
    people: int  # rows emptied (the person and everyone merged into them)
    activities: int  # activities kept, anonymised


def group_of(session: Session, person_id: int) -> tuple[int, list[int]]:
    """The person an id stands for now (following merges up) and every row merged into them."""
    pid = person_id
    for _ in range(50):
        into = session.scalar(sa.select(Person.merged_into_id).where(Person.id == pid))
        if into is None:
            break
        pid = into
    if session.get(Person, pid) is None:
        raise NotFound(f"there is no person #{person_id}")
    group, frontier = [pid], [pid]
    while frontier:
        frontier = list(session.scalars(sa.select(Person.id).where(Person.merged_into_id.in_(frontier))))
        group.extend(frontier)
    return pid, group


def erase_person(
    session: Session, person_id: int, *, now: datetime, by_user_id: int | None, ip: str | None = None
) -> Erased:
    pid, group = group_of(session, person_id)
    if session.scalar(sa.select(Erasure.id).where(Erasure.person_id == pid)) is not None:
        raise Conflict(f"person #{pid} was erased already")
    conn = connection(session)
    rows = conn.execute(
        sa.select(Person.id, Person.email, Person.external_id).where(Person.id.in_(group))
    ).all()
    erasure = Erasure(person_id=pid, at=now, by_user_id=by_user_id, people=len(group))
    session.add(erasure)
    session.flush()
    keys = set().union(*(keys_of(r.email, r.external_id) for r in rows))
    insert_ignore(
        session, ErasedKey.__table__, [{"digest": k, "erasure_id": erasure.id} for k in keys], ["digest"]
    )

    conn.execute(
        sa.update(Person)
        .where(Person.id.in_(group))
        .values(**dict.fromkeys(ERASED_COLUMNS), attributes={}, updated_at=now)
    )
    activities = _anonymise_activities(conn, group)
    conn.execute(sa.delete(PersonKey).where(PersonKey.person_id.in_(group)))
    conn.execute(sa.delete(Provenance).where(Provenance.entity == "person", Provenance.entity_id.in_(group)))
    conn.execute(sa.update(Note).where(Note.person_id.in_(group)).values(body=ERASED_TEXT))
    conn.execute(sa.update(Task).where(Task.person_id.in_(group)).values(title=ERASED_TEXT))
    conn.execute(
        sa.update(RecordEdit)
        .where(RecordEdit.entity == "person", RecordEdit.entity_id.in_(group))
        .values(changes={"erased": [None, ERASED_TEXT]})
    )
    conn.execute(
        sa.update(Merge)
        .where(sa.or_(Merge.survivor_id.in_(group), Merge.merged_id.in_(group)))
        .values(snapshot={"erased": True}, reasons=[])
    )
    either = sa.or_(SuspectedDuplicate.person_id.in_(group), SuspectedDuplicate.other_id.in_(group))
    conn.execute(sa.update(SuspectedDuplicate).where(either).values(reasons=[]))
    conn.execute(
        sa.update(SuspectedDuplicate)
        .where(either, SuspectedDuplicate.status == "open")
        .values(status="gone", decided_at=now)
    )
    audit.record(
        session,
        "person.erased",
        at=now,
        actor_user_id=by_user_id,
        subject=f"person #{pid}",
        ip=ip,
        detail={"people": len(group), "activities": activities},
    )
    publish(session, [PersonErased(pid, frozenset(group), now)], now=now)
    return Erased(pid, len(group), activities)


def _anonymise_activities(conn: sa.Connection, group: list[int]) -> int:
    """Kept, so every count still adds up; emptied of what the person wrote or where they were."""
    visitors = [
        v
        for (v,) in conn.execute(
            sa.select(Activity.visitor_id)
            .where(Activity.person_id.in_(group), Activity.visitor_id.is_not(None))
            .distinct()
        )
    ]
    if visitors:
        conn.execute(sa.delete(WebPageView).where(WebPageView.visitor_id.in_(visitors)))
    urls = conn.execute(
        sa.select(Activity.id, Activity.url).where(Activity.person_id.in_(group), Activity.url.is_not(None))
    ).all()
    bare = [{"aid": a, "bare_url": b} for a, u in urls if u and (b := _bare(u)) != u]
    if bare:
        conn.execute(
            sa.update(Activity)
            .where(Activity.id == sa.bindparam("aid"))
            .values(url=sa.bindparam("bare_url")),
            bare,
        )
    done = conn.execute(
        sa.update(Activity)
        .where(Activity.person_id.in_(group))
        .values(payload={"erased": True}, visitor_id=None, external_id=None)
    )
    return int(done.rowcount or 0)


def _bare(url: str) -> str:
    """The page without its query or fragment (a ?email= or a token in it goes)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
