"""How consent behaves, from settings: carried by every session (`session.info`), like identity's
matching policy, so a reaction deep inside a capture knows it without a settings object."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from leadloop.consent.model import SubscriptionType, parse_types

KEY = "consent_policy"


@cache
def _process_key() -> str:
    """Without LEADLOOP_SECRET_KEY (only on localhost, ADR 0015): links work while this process runs."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ConsentPolicy:
    types: tuple[SubscriptionType, ...] = field(
        default_factory=lambda: parse_types(
            ["newsletter=Newsletter", "product_updates=Product updates", "events=Events and webinars"]
        )
    )
    double_opt_in: bool = False
    implied_days: int = 0
    inquiry_types: frozenset[str] = frozenset()
    link_days: int = 90
    confirm_days: int = 30
    key: str = field(default_factory=_process_key, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    mailto: str = ""

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.types)

    @classmethod
    def of(cls, settings: Any) -> ConsentPolicy:
        return cls(
            types=parse_types(settings.subscription_types),
            double_opt_in=settings.double_opt_in,
            implied_days=settings.implied_consent_days,
            inquiry_types=frozenset(settings.implied_consent_activities),
            link_days=settings.unsubscribe_link_days,
            confirm_days=settings.confirm_link_days,
            key=settings.secret_key or _process_key(),
            public_url=settings.public_url.rstrip("/"),
            mailto=settings.unsubscribe_mailto.strip(),
        )


DEFAULT = ConsentPolicy()


def policy_of(session: Session) -> ConsentPolicy:
    found = session.info.get(KEY)
    return found if isinstance(found, ConsentPolicy) else DEFAULT


def session_info(settings: Any) -> dict[str, Any]:
    return {KEY: ConsentPolicy.of(settings)}
