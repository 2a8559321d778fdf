"""Website visits: a beacon from a known site becomes a page view, and a visit's first page of each
kind becomes an activity (so 40 pages in one visit are one score bump per kind of page, not 40).
An anonymous visitor's activities carry the visitor id; when they identify themselves (a form, a
collected form) capture stitches them to the person, scored as of when they happened."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from leadloop.capture.activities import ingest_activities
from leadloop.capture.log import Link
from leadloop.capture.model import ActivityIn
from leadloop.capture.tracking import (
    Beacon,
    origin_of,
    page_kind,
    session_of,
    utm_of,
    visit_activity_key,
)
from leadloop.contract.vocab import DEFAULT_URL_RULES
from leadloop.core.errors import InvalidInput
from leadloop.store.bulk import connection
from leadloop.store.tables import Account, Activity, TrackingObjection, TrackingSite, WebPageView

REPEAT = "stored as a page view: the visit has an activity of this kind already"


@dataclass(frozen=True, slots=True)
class Visit:
    stored: bool
    why: str
    kind: str | None = None
    session_key: str | None = None
    new_activity: bool = False


@dataclass(frozen=True, slots=True)
class TrackedSite:
    """What a beacon needs of its site: plain values, safe to keep between requests."""

    id: int
    name: str
    allowed_origins: tuple[str, ...]
    collect_forms: bool


_SITE = sa.select(
    TrackingSite.id, TrackingSite.name, TrackingSite.allowed_origins, TrackingSite.collect_forms
).where(TrackingSite.site_key == sa.bindparam("key"), TrackingSite.active.is_(True))
# Built once: a beacon runs these on every page view, and building a statement costs SQLAlchemy
# more than SQLite takes to answer it (compiled forms are cached; constructed ones are not).
_VISITOR_PERSON = (
    sa.select(Activity.person_id, Activity.account_id)
    .where(Activity.visitor_id == sa.bindparam("visitor"), Activity.person_id.is_not(None))
    .order_by(Activity.id.desc())
    .limit(1)
)
_OBJECTED = sa.select(TrackingObjection.person_id).where(TrackingObjection.person_id == sa.bindparam("pid"))
_LAST_VIEW = (
    sa.select(WebPageView.session_key, WebPageView.at)
    .where(WebPageView.visitor_id == sa.bindparam("visitor"), WebPageView.site_id == sa.bindparam("site"))
    .order_by(WebPageView.at.desc(), WebPageView.id.desc())
    .limit(1)
)
_ACTIVITY_BY_KEY = sa.select(Activity.id).where(Activity.dedupe_key == sa.bindparam("key"))
_ADD_VIEW = sa.insert(WebPageView)


def site_by_key(session: Session, key: str) -> TrackedSite | None:
    row = connection(session).execute(_SITE, {"key": key}).first()
    if row is None:
        return None
    return TrackedSite(row.id, row.name, tuple(row.allowed_origins or ()), bool(row.collect_forms))


def record_visit(
    session: Session,
    beacon: Beacon,
    site: TrackedSite,
    *,
    now: datetime,
    rules: tuple[tuple[str, str], ...] = DEFAULT_URL_RULES,
    inferred_domain: str | None = None,
) -> Visit:
    """`inferred_domain`: the company whose network the visit came from (reverse IP), if known.

    Most beacons are a visit's second page of a kind it has seen (the visit's pricing page was an
    activity already). For those only the page view is written: appending the activity again would
    be a no-op by its dedupe key (no row, no event, no reaction), so nothing a score depends on is
    skipped, and the capture pipeline runs only for a page that is new to its visit."""
    conn = connection(session)
    known = conn.execute(_VISITOR_PERSON, {"visitor": beacon.visitor_id}).first()
    if known is not None and conn.execute(_OBJECTED, {"pid": known.person_id}).first() is not None:
        return Visit(False, "the person objected to tracking")
    last = conn.execute(_LAST_VIEW, {"visitor": beacon.visitor_id, "site": site.id}).first()
    key = session_of(beacon.visitor_id, (last.session_key, last.at) if last else None, now)
    kind = page_kind(beacon.url, rules)
    conn.execute(
        _ADD_VIEW,
        {
            "site_id": site.id,
            "visitor_id": beacon.visitor_id,
            "session_key": key,
            "kind": kind,
            "url": beacon.url,
            "title": beacon.title,
            "referrer": beacon.referrer,
            "at": now,
        },
    )
    if conn.execute(_ACTIVITY_BY_KEY, {"key": visit_activity_key(key, kind)}).first() is not None:
        return Visit(True, REPEAT, kind, key, False)
    activity = visit_activity(beacon, site, key, kind, now)
    # The person (and account) the visitor was last identified as, as capture would link them.
    link: Link = (known.person_id, known.account_id) if known is not None else (None, None)
    if known is None and inferred_domain:
        account_id = session.scalar(sa.select(Account.id).where(Account.domain == inferred_domain).limit(1))
        if account_id is not None:
            # An anonymous visit from a known company's network: on the account, flagged as inferred.
            activity.payload["account_inferred_from"] = f"reverse IP ({inferred_domain})"
            link = (None, account_id)
    result = ingest_activities(session, [activity], now=now, source="web", person_ids=[link])
    created = any(o.status == "created" for o in result.outcomes)
    return Visit(True, "stored", kind, key, created)


def visit_activity(
    beacon: Beacon, site: TrackedSite, session_key: str, kind: str, now: datetime
) -> ActivityIn:
    """The activity a visit's page of this kind is: the first one of its kind in the visit is
    appended; every later one has the same dedupe key, so appending it would change nothing."""
    activity = ActivityIn(
        type=kind,
        occurred_at=now,
        visitor_id=beacon.visitor_id,
        channel="web",
        direction="inbound",
        url=beacon.url,
    )
    activity.payload = {
        "session": session_key,
        "site": site.name,
        **({"title": beacon.title} if beacon.title else {}),
        **({"referrer": beacon.referrer} if beacon.referrer else {}),
        **utm_of(beacon.url),
    }
    # One activity per kind of page per visit: the key makes the visit's next pricing page a no-op.
    activity.dedupe_key = visit_activity_key(session_key, kind)
    return activity


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
