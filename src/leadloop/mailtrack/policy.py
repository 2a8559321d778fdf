"""How tracking behaves, from settings, carried by every session (`session.info`) like consent's
policy: a sender deep inside a timer handler instruments its message with the signer and the
public URL found here, and the endpoints read the same ones from the database they serve."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, cached_property
from typing import Any

from sqlalchemy.orm import Session

from leadloop.mailtrack.classify import Rules
from leadloop.mailtrack.tokens import LinkSigner

KEY = "mailtrack_policy"


@cache
def _process_key() -> str:
    """Without LEADLOOP_SECRET_KEY (only on localhost, ADR 0015): links work while this process runs."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class MailtrackPolicy:
    key: str = field(default_factory=_process_key, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    link_days: int = 365
    rules: Rules = field(default_factory=Rules.with_networks)

    @cached_property
    def signer(self) -> LinkSigner:
        return LinkSigner(self.key)

    @classmethod
    def of(cls, settings: Any) -> MailtrackPolicy:
        return cls(
            key=settings.secret_key or _process_key(),
            public_url=settings.public_url.rstrip("/"),
            link_days=settings.mailtrack_link_days,
            rules=Rules.with_networks(
                settings.mailtrack_machine_networks,
                machine_after=timedelta(seconds=settings.mailtrack_machine_seconds),
            ),
        )


DEFAULT = MailtrackPolicy()


def policy_in(info: Mapping[str, Any]) -> MailtrackPolicy:
    found = info.get(KEY)
    return found if isinstance(found, MailtrackPolicy) else DEFAULT


def policy_of(session: Session) -> MailtrackPolicy:
    return policy_in(session.info)


def session_info(settings: Any) -> dict[str, Any]:
    return {KEY: MailtrackPolicy.of(settings)}
