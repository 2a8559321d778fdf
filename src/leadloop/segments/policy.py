"""How often segments are rebuilt on the clock, from settings: carried by every session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

KEY = "segment_policy"


@dataclass(frozen=True)
class SegmentPolicy:
    """`refresh`: how often a segment that time alone can change (a window, a decaying score) is
    rebuilt; `resync`: how often every other segment is, as a safety net for a change that came
    in by a path no event covers (an account file, a new scoring model)."""

    refresh: timedelta = timedelta(minutes=15)
    resync: timedelta = timedelta(hours=24)

    @classmethod
    def of(cls, settings: Any) -> SegmentPolicy:
        return cls(
            refresh=timedelta(minutes=settings.segment_refresh_minutes),
            resync=timedelta(hours=settings.segment_resync_hours),
        )

    def every(self, time_dependent: bool) -> timedelta:
        return self.refresh if time_dependent else self.resync


DEFAULT = SegmentPolicy()


def policy_of(session: Session) -> SegmentPolicy:
    found = session.info.get(KEY)
    return found if isinstance(found, SegmentPolicy) else DEFAULT


def session_info(settings: Any) -> dict[str, Any]:
    return {KEY: SegmentPolicy.of(settings)}
