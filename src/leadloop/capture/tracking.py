"""Website tracking, the pure part: what a beacon says, whether a person's browser sent it, which
kind of page it is, and which visit it belongs to. The endpoint (capture/collect_web.py) and the
handler (capture/visits.py) act on these answers.

A beacon is hostile input from anywhere on the internet: every field is bounded and checked, and
anything that is not a well-formed beacon from a real browser is dropped before a query is made.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlsplit

from leadloop.contract.vocab import DEFAULT_URL_RULES

MAX_BEACON_BYTES = 8 * 1024
MAX_FORM_FIELDS = 40
SESSION_GAP = timedelta(minutes=30)  # the usual web analytics visit: 30 minutes without a page

_VISITOR = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_SITE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
# Crawlers, link previewers, monitors and headless browsers announce themselves; real buyers don't.
_BOT = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|monitor|headless|lighthouse|pingdom|uptime|curl|wget|"
    r"python-|httpx|java/|go-http|okhttp|scrapy|phantom|selenium|puppeteer|playwright",
    re.IGNORECASE,
)

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True, slots=True)
class Beacon:
    site_key: str
    visitor_id: str
    kind: str  # pv (a page view) | form (a form on the page was submitted)
    url: str
    title: str | None = None
    referrer: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


def read_beacon(body: bytes) -> Beacon | str:
    """The beacon in a request body, or why it is not one (a sentence; nothing is stored)."""
    if len(body) > MAX_BEACON_BYTES:
        return f"a beacon is at most {MAX_BEACON_BYTES} bytes"
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "a beacon is a JSON object"
    if not isinstance(data, dict):
        return "a beacon is a JSON object"
    site, visitor, kind, url = (data.get(k) for k in ("s", "v", "k", "u"))
    if not isinstance(site, str) or not _SITE.match(site):
        return "the site key is missing or malformed"
    if not isinstance(visitor, str) or not _VISITOR.match(visitor):
        return "the visitor id is missing or malformed"
    if kind not in ("pv", "form"):
        return "the beacon kind is pv or form"
    if not isinstance(url, str) or not _http_url(url):
        return "the page URL is missing or not http(s)"
    fields: dict[str, str] = {}
    if kind == "form":
        raw = data.get("f")
        if not isinstance(raw, dict) or not raw or len(raw) > MAX_FORM_FIELDS:
            return f"a form beacon carries 1 to {MAX_FORM_FIELDS} fields"
        fields = {str(k)[:100]: str(v)[:1000] for k, v in raw.items() if isinstance(v, str | int | float)}
    title = data.get("t")
    referrer = data.get("r")
    return Beacon(
        site_key=site,
        visitor_id=visitor,
        kind=kind,
        url=url[:2048],
        title=title[:300] if isinstance(title, str) and title else None,
        referrer=referrer[:2048] if isinstance(referrer, str) and _http_url(referrer) else None,
        fields=fields,
    )


def robot(user_agent: str | None, headers: dict[str, str]) -> str | None:
    """Why this request is not a person's page view (a crawler, a prefetch), or None."""
    if not user_agent:
        return "no user agent"
    if _BOT.search(user_agent):
        return "a crawler or automated client"
    purpose = (headers.get("sec-purpose") or headers.get("purpose") or headers.get("x-moz") or "").lower()
    if "prefetch" in purpose or "prerender" in purpose:
        return "a prefetch"
    if headers.get("sec-gpc") == "1":
        return "Global Privacy Control"
    return None


def origin_allowed(origin: str | None, page_url: str, allowed: list[str]) -> bool:
    """The browser's Origin header (and the page itself) must be one of the site's origins."""
    wanted = {origin_of(a) for a in allowed}
    return bool(origin) and origin_of(origin or "") in wanted and origin_of(page_url) in wanted


def page_kind(url: str, rules: tuple[tuple[str, str], ...] = DEFAULT_URL_RULES) -> str:
    path = (urlsplit(url).path or "/").lower()
    for pattern, kind in rules:
        if fnmatchcase(path, pattern.lower()):
            return kind
    return "page_view"


def utm_of(url: str) -> dict[str, str]:
    return {k: v[:200] for k, v in parse_qsl(urlsplit(url).query)[:50] if k in UTM and v}


def session_of(visitor_id: str, last: tuple[str, datetime] | None, now: datetime) -> str:
    """The visit a page view belongs to: the visitor's last one if it is under SESSION_GAP old."""
    if last is not None and timedelta(0) <= now - last[1] <= SESSION_GAP:
        return last[0]
    return f"{visitor_id}:{int(now.timestamp())}"


def visit_activity_key(session_key: str, kind: str) -> str:
    """The dedupe key of a visit's activity of one kind of page: the visit's first pricing page is
    an activity, and every later one in the same visit has this key already (a page view only)."""
    return "visit:" + hashlib.sha256(f"{session_key}\x00{kind}".encode()).hexdigest()[:40]


def origin_of(url: str) -> str:
    parts = urlsplit(url.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port or default
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname}" + ("" if port == default else f":{port}")


def _http_url(url: str) -> bool:
    return len(url) <= 2048 and origin_of(url) != ""
