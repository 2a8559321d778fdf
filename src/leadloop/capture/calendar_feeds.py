"""Calendar feeds (ICS URLs, such as a rep's published calendar) polled on a timer: each meeting a
colleague has with outside people becomes a `meeting` activity (mailin.log_calendar). The fetch
runs in the timer's read phase, bounded in size and time; a feed that fails is logged and tried
again at the next run, and the others still land."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from leadloop.capture.mailin import MailPolicy, log_calendar
from leadloop.core.events import Event
from leadloop.core.logging import get_logger
from leadloop.jobs.timers import Due, Job, schedule

log = get_logger("leadloop.calendar")

ICS_FEEDS = "ics_feeds"
MAX_FEED_BYTES = 5 * 1024 * 1024


def fetch(url: str, *, timeout: float = 20.0, max_bytes: int = MAX_FEED_BYTES) -> bytes | str:
    """The feed's bytes, or why not (a sentence)."""
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as r:
            if r.status_code != 200:
                return f"{url}: HTTP {r.status_code}"
            body = b""
            for chunk in r.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    return f"{url}: larger than {max_bytes:,} bytes"
            return body
    except httpx.HTTPError as exc:
        return f"{url}: {type(exc).__name__}"


def feeds_job(urls: list[str], every: timedelta, policy: MailPolicy) -> Job:
    def prepare(session: Session, due: Due, now: datetime) -> dict[str, bytes | str]:
        return {url: fetch(url) for url in urls}

    def apply(session: Session, due: Due, now: datetime, fetched: Any) -> list[Event]:
        for url, data in fetched.items():
            if isinstance(data, str):
                log.warning(
                    "calendar.feed_failed", host=urlsplit(url).hostname, reason=data.replace(url, "<feed>")
                )
                continue
            done = log_calendar(session, data, now=now, policy=policy)
            # A feed URL usually holds a private token: only its host is logged.
            log.info("calendar.feed", host=urlsplit(url).hostname, status=done.status, reason=done.reason)
        schedule(session, ICS_FEEDS, "feeds", now + every)
        return []

    return Job(prepare=prepare, apply=apply)
