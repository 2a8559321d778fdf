"""Is a bounce webhook really from the sender we share a secret with, and fresh? Pure: the secret,
what the request carried and `now` in; nothing, or a named refusal, out.

Ours (the generic shape): `X-Leadloop-Timestamp: <unix seconds>` and `X-Leadloop-Signature:
sha256=<hex>`, the HMAC-SHA256 under the shared secret of the timestamp, a dot and the raw body, as
Stripe and Standard Webhooks sign: the timestamp is signed with the body, so an old request cannot
be replayed with a new time, and one older than `max_age_s` is refused.

Mailgun's: the body carries `signature: {timestamp, token, signature}`, the hex HMAC-SHA256 under
the webhook signing key of the timestamp and the token concatenated. It does not cover the event
itself; the freshness check and the event's key (a replayed event records nothing new) are what
we add (ADR 0031).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from leadloop.core.errors import LeadloopError

TIMESTAMP_HEADER = "X-Leadloop-Timestamp"
SIGNATURE_HEADER = "X-Leadloop-Signature"
MAX_AGE_S = 300
_MAX_FIELD = 200  # a timestamp, token or signature longer than this is not one


class BadSignature(LeadloopError):
    """The request is not signed, or not with our secret: it is not from the sender we know."""

    status_code = 401


class StaleSignature(BadSignature):
    """Signed, but too long ago (or too far ahead): a replay, or a sender's clock far off."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value a sender puts on `body` sent at `timestamp` (documented in the README)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def check(
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    max_age_s: int = MAX_AGE_S,
) -> None:
    """Our signature: BadSignature unless `signature` is the body's, under `secret`, made within
    `max_age_s` of now."""
    if not timestamp or not signature:
        raise BadSignature(
            f"the request is not signed: send {TIMESTAMP_HEADER} (unix seconds) and "
            f"{SIGNATURE_HEADER} (sha256=<hex HMAC-SHA256 of '<timestamp>.<body>'>)"
        )
    at = _fresh(timestamp, now, max_age_s)
    if not _same(sign(secret, at, body), signature.strip().lower()):
        raise BadSignature("the signature does not match the body and the timestamp; check the shared secret")


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def check_mailgun(key: str, block: object, *, now: datetime, max_age_s: int = MAX_AGE_S) -> str:
    """Mailgun's signature block; its token (unique per request) when it is genuine and fresh."""
    if not isinstance(block, dict):
        raise BadSignature(
            "the request is not signed: Mailgun sends signature: {timestamp, token, signature}"
        )
    timestamp, token, signature = (block.get(k) for k in ("timestamp", "token", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not all(isinstance(v, str) and 0 < len(v) <= _MAX_FIELD for v in (timestamp, token, signature)):
        raise BadSignature("the signature block needs timestamp, token and signature, each a short string")
    assert isinstance(timestamp, str) and isinstance(token, str) and isinstance(signature, str)
    _fresh(timestamp, now, max_age_s)
    if not _same(mailgun_signature(key, timestamp, token), signature.strip().lower()):
        raise BadSignature("the signature does not match; check the Mailgun webhook signing key")
    return token


def _fresh(timestamp: str, now: datetime, max_age_s: int) -> int:
    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise BadSignature(f"the timestamp {text[:20]!r} is not unix seconds")
    at = int(text)
    drift = now.timestamp() - at
    if abs(drift) > max_age_s:
        when = f"{drift:,.0f} s ago" if drift > 0 else f"{-drift:,.0f} s ahead of our clock"
        raise StaleSignature(
            f"the request was signed {when}; at most {max_age_s} s either way is accepted "
            "(a replay, or a clock that is off)"
        )
    return at


def _same(expected: str, given: str) -> bool:
    # Bytes, so that a header with non-ASCII characters is a mismatch, not a TypeError.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
