"""Capturing activities from any door: each is linked to its person (by external id, e-mail, or a
visitor cookie already identified), and an activity about an unknown e-mail creates that person:
no signal is dropped. A rep's logged call arrives here too, as a reaction to `TouchLogged`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.log import Link, append_activities
from leadloop.capture.model import ActivityIn, parse_activity, parse_person
from leadloop.capture.people import ingest_people
from leadloop.capture.repository import people_by_email, people_by_external_id
from leadloop.capture.results import REFUSED, Outcome, Result
from leadloop.core.events import Event, MailTracked, TouchLogged
from leadloop.core.reactions import publish
from leadloop.store.tables import Activity


def ingest_activities(
    session: Session,
    items: list[ActivityIn],
    *,
    now: datetime,
    source: str,
    person_ids: list[Link] | None = None,
) -> Result:
    """Append activities, linking each to its person unless `person_ids` says who they are. One
    about a person capture refuses (an erased person) is not stored: `refused`, with why."""
    found = (
        list(person_ids) if person_ids is not None else _link_people(session, items, now=now, source=source)
    )
    keep = [i for i, link in enumerate(found) if not isinstance(link, str)]
    links: list[Link] = [link for link in found if not isinstance(link, str)]
    result = append_activities(session, [items[i] for i in keep], links, now=now, source=source)
    result.events = publish(session, result.events, now=now)
    if len(keep) < len(items):
        stored = iter(result.outcomes)
        result.outcomes = [
            next(stored) if not isinstance(link, str) else Outcome(REFUSED, why=link) for link in found
        ]
    return result


def on_touch_logged(session: Session, events: list[TouchLogged], now: datetime) -> list[Event]:
    """Reaction: a rep's logged call, meeting or e-mail becomes an activity on the lead's account and
    product (and on the person reached, when the rep said whom), with its outcome and note."""
    calls: list[ActivityIn] = []
    for e in events:
        call = parse_activity(
            {"type": e.kind, "occurred_at": e.at.isoformat(), "direction": "outbound"},
            now=now,
            require_subject=False,
        )
        call.payload = {
            "by": e.by_email,
            **({"outcome": e.outcome} if e.outcome else {}),
            **({"note": e.note} if e.note else {}),
        }
        call.product = e.product
        calls.append(call)
    links: list[Link] = [(e.person_id, e.account_id) for e in events]
    return append_activities(session, calls, links, now=now, source="web").events


def on_mail_tracked(session: Session, events: list[MailTracked], now: datetime) -> list[Event]:
    """Reaction: an open or a click of a message we sent (mailtrack/) becomes an activity on the
    person it was sent to. Its dedupe key makes a repeat within its window a no-op."""
    hits: list[ActivityIn] = []
    for e in events:
        hit = ActivityIn(
            type=e.type,
            occurred_at=e.at,
            channel="email",
            direction="inbound",
            url=e.url,
            campaign=e.campaign,
            dedupe_key=e.dedupe_key,
        )
        hit.payload = dict(e.payload)
        hits.append(hit)
    links: list[Link] = [(e.person_id, e.account_id) for e in events]
    return append_activities(session, hits, links, now=now, source="email").events


def _known_visitors(session: Session, visitor_ids: set[str]) -> dict[str, tuple[int, int | None]]:
    """Visitor id -> the person (and account) it was last seen identified as."""
    out: dict[str, tuple[int, int | None]] = {}
    if visitor_ids:
        for vid, pid, aid in session.execute(
            sa.select(Activity.visitor_id, Activity.person_id, Activity.account_id)
            .where(Activity.visitor_id.in_(visitor_ids), Activity.person_id.is_not(None))
            .order_by(Activity.id.desc())
        ):
            if vid is not None and pid is not None:
                out.setdefault(vid, (pid, aid))
    return out


def _link_people(
    session: Session, items: list[ActivityIn], *, now: datetime, source: str
) -> list[Link | str]:
    """Each item's person and account, or why capture refuses the person it names (a sentence)."""
    by_ext: dict[str, Link] = dict(
        people_by_external_id(session, {a.person_external_id for a in items if a.person_external_id})
    )
    emails = {a.email for a in items if a.email}
    by_email: dict[str, Link] = dict(people_by_email(session, emails))
    unknown = sorted(e for e in emails if e not in by_email)
    refused: dict[str, str] = {}
    if unknown:
        created = ingest_people(
            session, [parse_person({"email": e}) for e in unknown], now=now, source=source
        )
        for e, o in zip(unknown, created.outcomes, strict=True):
            if o.status == REFUSED:
                refused[e] = o.why or "refused"
            else:
                by_email[e] = (o.id, o.account_id)
    visitors = _known_visitors(
        session, {a.visitor_id for a in items if a.visitor_id and not (a.email or a.person_external_id)}
    )
    links: list[Link | str] = []
    for a in items:
        if a.email in refused:
            links.append(refused[a.email])
            continue
        link = (by_ext.get(a.person_external_id) if a.person_external_id else None) or (
            by_email.get(a.email) if a.email else None
        )
        if link is None and a.visitor_id:  # an anonymous visit by someone already identified
            link = visitors.get(a.visitor_id)
        links.append(link or (None, None))
    return links
