"""What /collect reads on every beacon and that almost never changes, kept per process: the site
behind a site key, and the URL rules of the scoring model in force.

They are kept differently because a stale answer costs differently:
- A site is kept for `SITE_TTL_S`. Sites are only ever added (a new key is a miss, so it is read at
  once); the time-to-live bounds how long a site switched off in the database, or changed by hand,
  keeps being accepted by a process that had it: half a minute of page views, checked against the
  origins it had. Unknown keys are not kept: a forged key costs a read, never memory.
- URL rules are keyed on the active model's row id, read in the beacon's own transaction (one
  indexed query for an integer). A page's kind is stored for good as its activity's type and
  scored by it, so a time-to-live would file pages by the rules of a model already replaced, for
  a while after each activation, and differently in each process. A row's document never changes
  (a change is a new version), so the id names the rules exactly and the document is read and
  parsed once per model per process.
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session

from leadloop.capture.visits import TrackedSite, site_by_key
from leadloop.scoring.repository import active_model_id, model_by_id
from leadloop.store.db import Database

SITE_TTL_S = 30.0
MAX_SITES = 10_000  # a bound, not a working set: a deployment has a handful of sites
MAX_MODELS = 64


class TrackingCache:
    def __init__(self, *, site_ttl_s: float = SITE_TTL_S) -> None:
        self.site_ttl_s = site_ttl_s
        self._sites: dict[str, tuple[float, TrackedSite]] = {}
        self._rules: dict[int | None, tuple[tuple[str, str], ...]] = {}

    def site(self, db: Database, key: str, now_s: float) -> TrackedSite | None:
        """The active site with this key (`now_s`: a monotonic clock in seconds)."""
        hit = self._sites.get(key)
        if hit is not None and 0 <= now_s - hit[0] < self.site_ttl_s:
            return hit[1]
        with db.read() as session:
            site = site_by_key(session, key)
        if site is None:
            self._sites.pop(key, None)
            return None
        if len(self._sites) >= MAX_SITES:
            self._sites.clear()
        self._sites[key] = (now_s, site)
        return site

    def url_rules(self, session: Session) -> tuple[tuple[str, str], ...]:
        """The URL rules of the model in force in this session's transaction."""
        model_id = active_model_id(session)
        rules = self._rules.get(model_id)
        if rules is None:
            rules = model_by_id(session, model_id).url_rule_pairs()
            if len(self._rules) >= MAX_MODELS:
                self._rules.clear()
            self._rules[model_id] = rules
        return rules


# One cache per database per process. Keyed on the Database object rather than kept globally:
# row ids mean nothing across databases (the tests open many, each with a site 1 and a model 1).
_CACHES: WeakKeyDictionary[Database, TrackingCache] = WeakKeyDictionary()
_LOCK = threading.Lock()


def tracking_cache(db: Database) -> TrackingCache:
    with _LOCK:
        cache = _CACHES.get(db)
        if cache is None:
            cache = _CACHES[db] = TrackingCache()
        return cache
