"""Signed links in a person's mail: unsubscribe and preferences (one token, RFC 8058), and the
double opt-in confirmation (another purpose, so neither can stand in for the other).

A token names the person, a tag of the address it was sent to, and the day it was issued, signed
with itsdangerous under a key derived from LEADLOOP_SECRET_KEY and the purpose. The tag binds it to
the address: a token works only while that address is the person's (or one merged into them), so a
link forwarded to, or guessed for, anyone else changes nothing. The expiry is counted in whole days
from the issue day, here, with `now` given, so the rule is pure and testable to the day. Compact by
design: with the URL it fits one 78-character header line for most hosts (RFC 5322 folding).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime

from itsdangerous import BadSignature, Signer

from leadloop.core.errors import InvalidInput

UNSUBSCRIBE = "unsubscribe"
CONFIRM = "confirm"
PURPOSES = (UNSUBSCRIBE, CONFIRM)
EPOCH = date(2020, 1, 1)
MAX_LENGTH = 200  # far above any token made here; a longer one is refused before it is read


class BadToken(InvalidInput):
    """The link was altered, cut short, or made for something else."""


class ExpiredToken(InvalidInput):
    """The link is older than it may be."""


@dataclass(frozen=True)
class Claim:
    person_id: int
    tag: str
    issued: int  # days since EPOCH


def day_of(now: datetime) -> int:
    return (now.astimezone(UTC).date() - EPOCH).days


def expired(issued: int, now: datetime, valid_days: int) -> bool:
    """Valid on the day it was issued and for `valid_days` whole days after."""
    return day_of(now) - issued > valid_days


def address_tag(key: str, address: str) -> str:
    digest = hmac.new(key.encode(), b"address:" + address.strip().lower().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode().lower()  # 8 characters, 40 bits


def _signer(key: str, purpose: str) -> Signer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")  # a programming error
    return Signer(key, salt=f"leadloop.consent.{purpose}")


def make(key: str, purpose: str, person_id: int, address: str, now: datetime) -> str:
    value = f"{person_id:x}.{address_tag(key, address)}.{day_of(now):x}"
    return _signer(key, purpose).sign(value).decode()


def read(key: str, purpose: str, token: str, *, now: datetime, valid_days: int) -> Claim:
    """The claim of a genuine, unexpired token; BadToken or ExpiredToken otherwise."""
    if len(token) > MAX_LENGTH:
        raise BadToken("this link is not one of ours")
    try:
        value = _signer(key, purpose).unsign(token.encode("utf-8", "replace")).decode()
        pid, tag, issued = value.split(".")
        claim = Claim(int(pid, 16), tag, int(issued, 16))
    except (BadSignature, ValueError, UnicodeError):
        raise BadToken("this link was changed or cut short") from None
    if expired(claim.issued, now, valid_days):
        raise ExpiredToken(f"this link is more than {valid_days} days old")
    return claim


def matches(key: str, claim: Claim, addresses: list[str | None]) -> bool:
    """Was the token made for one of these addresses?"""
    return any(a and hmac.compare_digest(address_tag(key, a), claim.tag) for a in addresses)
