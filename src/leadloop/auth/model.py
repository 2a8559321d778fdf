"""Who may do what. Pure: roles, principals and the key format."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from leadloop.core.errors import InvalidInput


class Role(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    MANAGER = "manager"
    REP = "rep"
    PARTNER = "partner"
    BDR = "bdr"  # business development: qualifies MQLs on a call before field sales


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.MARKETING, Role.MANAGER, Role.REP, Role.BDR})
WRITERS = frozenset({Role.ADMIN, Role.MARKETING})  # may load data into the warehouse
ADMINS = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})  # sales management: routing rules, team view
PARTNERS = frozenset({Role.PARTNER})  # the partner portal: only their organisation's leads
# The qualification desk: BDRs work it, sales management and admins watch and step in.
QUALIFIERS = frozenset({Role.ADMIN, Role.MANAGER, Role.BDR})


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    name: str
    role: Role
    via: str  # "session" | "api_key"
    must_change_password: bool = False  # an admin reset it: nothing else until they choose their own
    key_scope: str | None = None  # an API key's scope (KeyScope); None for a browser session

    def may(self, roles: frozenset[Role]) -> bool:
        return self.role in roles


class KeyScope(StrEnum):
    """What an API key may do, within its user's role: a website's form key captures and nothing
    else; a BI tool's key reads; an integration that manages the warehouse has full access."""

    FULL = "full"
    READ = "read"
    CAPTURE = "capture"


# The routes a capture-only key may call: what a website or a form tool sends.
CAPTURE_ROUTES = frozenset(
    {
        ("POST", "/api/v1/leads"),
        ("POST", "/api/v1/ingest"),
        ("POST", "/api/v1/activities"),
        ("GET", "/api/v1/activity-types"),
    }
)


def scope_refuses(scope: str | None, method: str, route: str) -> str | None:
    """Why a key of this scope may not call this route (None: it may)."""
    if scope is None or scope == KeyScope.FULL:
        return None
    if scope == KeyScope.READ:
        return None if method in ("GET", "HEAD", "OPTIONS") else "this API key is read-only"
    if scope == KeyScope.CAPTURE:
        return (
            None
            if (method, route) in CAPTURE_ROUTES
            else "this API key may only capture leads and activities"
        )
    return f"this API key has an unknown scope {scope!r}"


KEY_PREFIX = "ll"


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    secret: str
    hash: str

    @property
    def token(self) -> str:
        return f"{KEY_PREFIX}_{self.prefix}_{self.secret}"


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(prefix, secret, hash_key(prefix, secret))


def hash_key(prefix: str, secret: str) -> str:
    # A 256-bit random secret needs no slow hash: SHA-256 is what GitHub and Stripe-style keys use.
    return hashlib.sha256(f"{prefix}.{secret}".encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def key_matches(stored_hash: str, prefix: str, secret: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_key(prefix, secret))


@dataclass(frozen=True)
class SessionPolicy:
    """How long a browser stays signed in: `idle` after its last request, `absolute` after sign-in."""

    idle: timedelta
    absolute: timedelta
    # Writing last_seen on every request would make every page view a write; a minute is precise
    # enough for an idle timeout counted in hours.
    touch_every: timedelta = timedelta(seconds=60)

    def expires_at(self, *, created_at: datetime, now: datetime) -> datetime:
        return min(created_at + self.absolute, now + self.idle)

    def needs_touch(self, *, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at >= self.touch_every


def hash_session_token(secret_key: str, token: str) -> str:
    # Keyed, so that a copy of the sessions table (a backup, a read-only SQL injection) is no
    # list of cookies: turning a row back into a cookie needs the server's key as well.
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


MIN_PASSWORD = 12
# The most used passwords of 12 characters or more (shorter ones fail on length anyway), from the
# public breach top lists (SecLists, NCSC's 100k). A short list: it stops the first guesses.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678910",
        "123456789123",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abcdefghijkl",
        "passwordpassword",
        "password1234",
        "password12345",
        "password123!",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwerty123456",
        "iloveyou1234",
        "administrator",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "correcthorsebatterystaple",
        "qwertyuiopasdfghjkl",
        "aaaaaaaaaaaa",
        "111111111111",
        "000000000000",
        "zaq12wsxcde3",
    }
)


class WeakPassword(InvalidInput):
    """A password anyone could guess; the sentence says which rule it breaks."""


def check_password(password: str, *, email: str) -> str:
    """The password, if it may be used; a named error saying why not otherwise."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(
            f"a password needs at least {MIN_PASSWORD} characters (this one has {len(password)})"
        )
    folded = password.strip().lower()
    local = email.strip().lower().split("@", 1)[0]
    if folded == email.strip().lower() or (len(local) >= 4 and local in folded):
        raise WeakPassword("a password may not be or contain the e-mail address it signs in")
    if folded in COMMON_PASSWORDS or len(set(folded)) <= 2:
        raise WeakPassword("this password is among the most guessed ones; choose another")
    return password
