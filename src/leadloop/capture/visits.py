"""Website visits: a beacon from a known site becomes a page view, and a visit's first page of each
kind becomes an activity (so 40 pages in one visit are one score bump per kind of page, not 40).
An anonymous visitor's activities carry the visitor id; when they identify themselves (a form, a
collected form) capture stitches them to the person, scored as of when they happened."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.activities import ingest_activities
from leadloop.capture.log import Link
from leadloop.capture.model import ActivityIn
from leadloop.capture.tracking import Beacon, origin_of, page_kind, session_of, utm_of
from leadloop.contract.vocab import DEFAULT_URL_RULES
from leadloop.core.errors import InvalidInput
from leadloop.store.tables import Account, Activity, TrackingObjection, TrackingSite, WebPageView


@dataclass(frozen=True, slots=True)
class Visit:
    stored: bool
    why: str
    kind: str | None = None
    session_key: str | None = None
    new_activity: bool = False


def site_by_key(session: Session, key: str) -> TrackingSite | None:
    return session.scalar(
        sa.select(TrackingSite).where(TrackingSite.site_key == key, TrackingSite.active.is_(True))
    )


def record_visit(
    session: Session,
    beacon: Beacon,
    site: TrackingSite,
    *,
    now: datetime,
    rules: tuple[tuple[str, str], ...] = DEFAULT_URL_RULES,
    inferred_domain: str | None = None,
) -> Visit:
    """`inferred_domain`: the company whose network the visit came from (reverse IP), if known."""
    known = _person_of_visitor(session, beacon.visitor_id)
    if known is not None and session.get(TrackingObjection, known) is not None:
        return Visit(False, "the person objected to tracking")
    last = session.execute(
        sa.select(WebPageView.session_key, WebPageView.at)
        .where(WebPageView.visitor_id == beacon.visitor_id, WebPageView.site_id == site.id)
        .order_by(WebPageView.at.desc(), WebPageView.id.desc())
        .limit(1)
    ).first()
    key = session_of(beacon.visitor_id, (last[0], last[1]) if last else None, now)
    kind = page_kind(beacon.url, rules)
    session.add(
        WebPageView(
            site_id=site.id,
            visitor_id=beacon.visitor_id,
            session_key=key,
            kind=kind,
            url=beacon.url,
            title=beacon.title,
            referrer=beacon.referrer,
            at=now,
        )
    )
    activity = ActivityIn(
        type=kind,
        occurred_at=now,
        visitor_id=beacon.visitor_id,
        channel="web",
        direction="inbound",
        url=beacon.url,
    )
    activity.payload = {
        "session": key,
        "site": site.name,
        **({"title": beacon.title} if beacon.title else {}),
        **({"referrer": beacon.referrer} if beacon.referrer else {}),
        **utm_of(beacon.url),
    }
    # One activity per kind of page per visit: the key makes the visit's next pricing page a no-op.
    activity.dedupe_key = "visit:" + hashlib.sha256(f"{key}\x00{kind}".encode()).hexdigest()[:40]
    links: list[Link] | None = None
    if known is None and inferred_domain:
        account_id = session.scalar(sa.select(Account.id).where(Account.domain == inferred_domain).limit(1))
        if account_id is not None:
            # An anonymous visit from a known company's network: on the account, flagged as inferred.
            activity.payload["account_inferred_from"] = f"reverse IP ({inferred_domain})"
            links = [(None, account_id)]
    result = ingest_activities(session, [activity], now=now, source="web", person_ids=links)
    created = any(o.status == "created" for o in result.outcomes)
    return Visit(True, "stored", kind, key, created)


def _person_of_visitor(session: Session, visitor_id: str) -> int | None:
    return session.scalar(
        sa.select(Activity.person_id)
        .where(Activity.visitor_id == visitor_id, Activity.person_id.is_not(None))
        .order_by(Activity.id.desc())
        .limit(1)
    )


def object_to_tracking(session: Session, person_id: int, *, now: datetime, source: str) -> None:
    """From now on no visit of this person is stored (their visitor ids are recognised)."""
    if session.get(TrackingObjection, person_id) is None:
        session.add(TrackingObjection(person_id=person_id, at=now, source=source[:50]))


def add_site(
    session: Session, *, name: str, origins: list[str], collect_forms: bool, now: datetime
) -> TrackingSite:
    cleaned = sorted({origin_of(o) for o in origins})
    if not name.strip() or not cleaned or "" in cleaned:
        raise InvalidInput(
            "a site needs a name and at least one origin such as https://www.example.com "
            "(scheme and host, no path)"
        )
    site = TrackingSite(
        name=name.strip()[:200],
        site_key="ll_" + secrets.token_urlsafe(18),
        allowed_origins=cleaned,
        collect_forms=collect_forms,
        active=True,
        created_at=now,
    )
    session.add(site)
    session.flush()
    return site
