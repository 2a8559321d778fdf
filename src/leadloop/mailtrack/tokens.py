"""The signed tokens in a message's open pixel and click links. Pure.

A token carries everything a hit needs, so no table is kept per message and no migration was
needed: the person, the message (the outbox key of its send), when it was sent, what it belongs to
(sequence and step, or campaign) and, for a click, the destination. It is signed with itsdangerous
under LEADLOOP_SECRET_KEY, with a salt per kind, so an open token is no click link and neither is
an unsubscribe link (consent/tokens.py has its own salts). A click redirects only to the URL inside
its own signature: change one character of the token and it is refused, so the link can never send
anyone elsewhere (no open redirect).

The payload is a short JSON list, compressed by itsdangerous when that is shorter. Its first item is
a version, so a later format can still read the tokens already in people's inboxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from leadloop.core.errors import InvalidInput

OPEN = "open"
CLICK = "click"
KINDS = (OPEN, CLICK)
VERSION = 1
MAX_URL = 2048  # the activity log keeps a URL this long; a longer link is left as it is
MAX_MESSAGE = 200  # an outbox key
MAX_NAME = 100  # a sequence, step or campaign name
MAX_TOKEN = 4 * MAX_URL  # far above any token made here; a longer one is refused before it is read


class BadLink(InvalidInput):
    """The token was altered, cut short, or made for something else."""


@dataclass(frozen=True, slots=True)
class Source:
    """What a message belongs to: a sequence and its step, or a campaign (all optional)."""

    sequence: str | None = None
    step: str | None = None
    campaign: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """What a genuine token says. `url` is a click's destination (None for the open pixel)."""

    kind: str
    person_id: int
    message: str
    sent_at: datetime
    source: Source = field(default_factory=Source)
    url: str | None = None


def expired(claim: Claim, now: datetime, valid_days: int) -> bool:
    """A hit more than `valid_days` after the send is not recorded (the link still works)."""
    return now - claim.sent_at > timedelta(days=valid_days)


def _name(value: str | None) -> str | None:
    return value[:MAX_NAME] if value else None


class LinkSigner:
    """Makes and reads the tokens of one key. Build one per key and keep it (policy.py does)."""

    def __init__(self, key: str) -> None:
        self._key = key

    @cached_property
    def _serializers(self) -> dict[str, URLSafeSerializer]:
        return {k: URLSafeSerializer(self._key, salt=f"leadloop.mailtrack.{k}") for k in KINDS}

    def make(self, claim: Claim) -> str:
        if claim.kind not in KINDS:
            raise ValueError(f"unknown token kind {claim.kind!r}")  # a programming error
        if len(claim.message) > MAX_MESSAGE or not claim.message:
            raise ValueError(f"a message key has 1 to {MAX_MESSAGE} characters")  # likewise
        s = claim.source
        body: list[Any] = [
            VERSION,
            claim.person_id,
            claim.message,
            int(claim.sent_at.timestamp()),
            _name(s.sequence),
            _name(s.step),
            _name(s.campaign),
        ]
        if claim.kind == CLICK:
            if not claim.url or len(claim.url) > MAX_URL:
                raise ValueError(f"a click link needs a URL of at most {MAX_URL} characters")
            body.append(claim.url)
        return str(self._serializers[claim.kind].dumps(body))

    def read(self, kind: str, token: str) -> Claim:
        """The claim of a genuine token of this kind; BadLink otherwise (whatever was sent)."""
        if len(token) > MAX_TOKEN:
            raise BadLink("this link is not one of ours")
        try:
            body = self._serializers[kind].loads(token)
        except (BadData, ValueError, UnicodeError, KeyError):
            raise BadLink("this link was changed or cut short") from None
        claim = _claim(kind, body)
        if claim is None:  # signed by us, but not a shape this version makes
            raise BadLink("this link is not one this version of Leadloop can read")
        return claim


def _claim(kind: str, body: Any) -> Claim | None:
    size = 8 if kind == CLICK else 7
    if not isinstance(body, list) or len(body) != size or body[0] != VERSION:
        return None
    _, pid, message, sent, sequence, step, campaign, *rest = body
    names = (sequence, step, campaign)
    if (
        type(pid) is not int
        or type(sent) is not int
        or not isinstance(message, str)
        or not all(n is None or isinstance(n, str) for n in names)
        or not all(isinstance(u, str) for u in rest)
    ):
        return None
    try:
        sent_at = datetime.fromtimestamp(sent, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return Claim(kind, pid, message, sent_at, Source(sequence, step, campaign), rest[0] if rest else None)
