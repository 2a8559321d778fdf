"""Website visits on SQLite and PostgreSQL, below /collect: a page of a kind its visit already has
is written as a page view only, and that shortcut is exactly what the capture pipeline would have
done (it changes nothing else, and the pipeline run on top of it changes nothing either), while a
page that should move a score still does. The per-process cache follows a newly activated model's
URL rules at the next beacon, and a site switched off within its time-to-live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from leadloop import capture as h
from leadloop.capture import model as m
from leadloop.capture.tracking import Beacon
from leadloop.capture.tracking_cache import TrackingCache
from leadloop.capture.visits import (
    REPEAT,
    TrackedSite,
    Visit,
    add_site,
    record_visit,
    site_by_key,
    visit_activity,
)
from leadloop.documents.handlers import activate, save_draft
from leadloop.scoring.document import UrlRule
from leadloop.scoring.kind import SCORING
from leadloop.scoring.repository import active_model
from leadloop.store.db import Database
from leadloop.store.tables import Activity, Base, Lead, Person, TrackingSite

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SITE = "https://www.polar-signal.se"
VISITOR = "0b9f6a52-1c1e-4c1a-9a55-3f0f3f0f3f0f"


def _site(db: Database) -> tuple[str, TrackedSite]:
    with db.write() as s:
        key = add_site(s, name="Polar", origins=[SITE], collect_forms=False, now=NOW).site_key
    with db.read() as s:
        site = site_by_key(s, key)
    assert site is not None and site.allowed_origins == (SITE,)
    return key, site


def _beacon(path: str) -> Beacon:
    return Beacon(site_key="ll_polarsignal", visitor_id=VISITOR, kind="pv", url=SITE + path, title=path)


def _visit(db: Database, cache: TrackingCache, site: TrackedSite, path: str, at: datetime) -> Visit:
    with db.write() as s:
        return record_visit(s, _beacon(path), site, now=at, rules=cache.url_rules(s))


def _everything_but_page_views(db: Database) -> dict[str, list[str]]:
    with db.read() as s:
        return {
            t.name: sorted(repr(tuple(r)) for r in s.execute(sa.select(t)))
            for t in Base.metadata.sorted_tables
            if t.name != "web_page_views"
        }


def _identify(db: Database) -> int:
    """Greta fills in a form with the visitor's cookie: a person, a lead, and the visitor is hers."""
    form = m.parse_activity(
        {
            "email": "greta@polar-signal.se",
            "type": "form_submit",
            "occurred_at": NOW.isoformat(),
            "visitor_id": VISITOR,
        },
        now=NOW,
    )
    with db.write() as s:
        h.ingest_activities(s, [form], now=NOW, source="api")
        pid = s.scalar(sa.select(Person.id).where(Person.email == "greta@polar-signal.se"))
    assert pid is not None
    return pid


def _lead(db: Database) -> tuple[int, float]:
    with db.read() as s:
        lead = s.scalars(sa.select(Lead)).one()
        return lead.activity_count, lead.engagement_s


def test_a_repeat_page_is_only_a_page_view_and_the_pipeline_would_have_done_nothing(db: Database) -> None:
    _key, site = _site(db)
    cache = TrackingCache()
    pid = _identify(db)
    walk = [  # (minutes after NOW, path, a new activity expected)
        (1, "/", True),
        (2, "/pricing", True),
        (3, "/blog/a", False),  # a page_view again in this visit
        (4, "/pricing/enterprise", False),  # a pricing page again
        (5, "/careers", True),
        (6, "/", False),
        (40, "/pricing", True),  # 34 minutes later: a new visit, and its pricing page counts again
        (41, "/pricing", False),
    ]
    seen: list[tuple[str, bool]] = []
    for minutes, path, new in walk:
        at = NOW + timedelta(minutes=minutes)
        before, lead_before = _everything_but_page_views(db), _lead(db)
        visit = _visit(db, cache, site, path, at)
        seen.append((path, visit.new_activity))
        if not new:
            assert visit.why == REPEAT and visit.stored
            assert _everything_but_page_views(db) == before, (
                f"{path}: a repeat page changed more than its view"
            )
            # The whole pipeline, as /collect ran it for every page before: the same activity, linked
            # by capture itself. It must find nothing to do, or the shortcut lost a signal.
            assert visit.session_key is not None and visit.kind is not None
            activity = visit_activity(_beacon(path), site, visit.session_key, visit.kind, at)
            with db.write() as s:
                result = h.ingest_activities(s, [activity], now=at, source="web")
            assert [o.status for o in result.outcomes] == ["duplicate"] and result.events == []
            assert _everything_but_page_views(db) == before
            assert _lead(db) == lead_before
        else:
            assert visit.why == "stored"
            count, engagement = _lead(db)
            assert count == lead_before[0] + 1 and engagement != lead_before[1], f"{path} moved no score"
    assert seen == [(p, new) for _, p, new in walk]
    with db.read() as s:
        rows = s.execute(
            sa.select(Activity.type, Activity.person_id, Activity.account_id).where(
                Activity.visitor_id == VISITOR, Activity.type != "form_submit"
            )
        ).all()
        account = s.scalar(sa.select(Person.account_id).where(Person.id == pid))
    assert sorted(r.type for r in rows) == sorted(
        ["page_view", "pricing_page_view", "careers_page_view", "pricing_page_view"]
    )
    assert {(r.person_id, r.account_id) for r in rows} == {(pid, account)}  # linked as capture links


def test_a_newly_activated_models_url_rules_kind_the_next_page(db: Database) -> None:
    """Rules are cached by the active model's id, not for a while: the page after an activation is
    kinded by the new rules, and a kind the visit had not had yet is a new, scored activity."""
    _key, site = _site(db)
    cache = TrackingCache()
    _identify(db)
    first = _visit(db, cache, site, "/docs/start", NOW + timedelta(minutes=1))
    assert first.kind == "page_view" and first.new_activity
    with db.write() as s:
        model, _ = active_model(s)
        text = model.model_copy(
            update={
                "name": "docs-count",
                "url_rules": [UrlRule(pattern="/docs/*", type="content_download"), *model.url_rules],
            }
        ).to_yaml()
        draft, _ = save_draft(s, SCORING, text, now=NOW)
        activate(s, SCORING, draft, now=NOW + timedelta(minutes=2))
    count, engagement = _lead(db)
    docs = _visit(db, cache, site, "/docs/api", NOW + timedelta(minutes=3))
    assert docs.kind == "content_download" and docs.new_activity and docs.session_key == first.session_key
    assert _lead(db)[0] == count + 1 and _lead(db)[1] > engagement


def test_a_site_is_kept_for_its_time_to_live_and_an_unknown_key_not_at_all(db: Database) -> None:
    key, site = _site(db)
    cache = TrackingCache(site_ttl_s=30)
    assert cache.site(db, key, 100.0) == site
    with db.write() as s:
        s.execute(sa.update(TrackingSite).values(active=False))
    assert cache.site(db, key, 129.0) == site  # switched off, and still accepted for the rest of 30 s
    assert cache.site(db, key, 130.5) is None
    late = "ll_registeredlater"
    assert cache.site(db, late, 131.0) is None
    with db.write() as s:
        s.execute(sa.insert(TrackingSite).values(**_row(late)))
    found = cache.site(db, late, 131.5)  # a miss was not remembered: the new site is there at once
    assert found is not None and found.name == "Later"


def _row(key: str) -> dict[str, Any]:
    return {
        "name": "Later",
        "site_key": key,
        "allowed_origins": [SITE],
        "collect_forms": False,
        "active": True,
        "created_at": NOW,
    }
