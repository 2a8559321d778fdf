"""How identity resolution decides, from settings: carried by every session (`session.info`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

KEY = "match_policy"


@dataclass(frozen=True)
class MatchPolicy:
    auto_merge: float = 0.995
    review: float = 0.8
    gmail_dots: bool = True
    plus_tags: bool = True
    source_priority: tuple[str, ...] = ("api", "form", "import")
    account_name_match: float = 90.0

    @classmethod
    def of(cls, settings: Any) -> MatchPolicy:
        return cls(
            auto_merge=settings.match_auto_merge,
            review=settings.match_review,
            gmail_dots=settings.match_gmail_dots,
            plus_tags=settings.match_plus_tags,
            source_priority=tuple(settings.merge_source_priority),
            account_name_match=settings.account_name_match,
        )


DEFAULT = MatchPolicy()


def policy_of(session: Session) -> MatchPolicy:
    found = session.info.get(KEY)
    return found if isinstance(found, MatchPolicy) else DEFAULT


def session_info(settings: Any) -> dict[str, Any]:
    """What a Database built from these settings hands every session."""
    return {KEY: MatchPolicy.of(settings)}
