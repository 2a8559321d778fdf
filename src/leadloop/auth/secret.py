"""Which key a server may run with. Pure: the caller supplies the random key it would fall back to."""

from __future__ import annotations

from dataclasses import dataclass

from leadloop.core.errors import LeadloopError

HOW_TO_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MIN_LENGTH = 32
# Keys published in our own history, docs or common templates: whoever read them can sign as anyone.
WELL_KNOWN = frozenset(
    {"dev-only-secret-change-me", "change-me", "changeme", "secret", "secret-key", "your-secret-key"}
)


class InsecureSecretKey(LeadloopError):
    """The server would sign with a key an attacker knows or can guess."""


@dataclass(frozen=True)
class KeyChoice:
    key: str
    generated: bool  # a random key for this process only: sessions end when it stops


def check_key(key: str) -> str:
    if key in WELL_KNOWN:
        raise InsecureSecretKey(
            "LEADLOOP_SECRET_KEY is a published placeholder; make a real one with " + HOW_TO_MAKE_ONE
        )
    if len(key) < MIN_LENGTH:
        raise InsecureSecretKey(
            f"LEADLOOP_SECRET_KEY has {len(key)} characters; it needs at least {MIN_LENGTH}. "
            "Make one with " + HOW_TO_MAKE_ONE
        )
    return key


def choose_key(configured: str | None, *, host: str | None, random_key: str) -> KeyChoice:
    """A configured key must be a real one. Without one, only a server nobody else can reach (bound
    to localhost) may make up its own; host=None is the app factory, which never listens itself."""
    if configured:
        return KeyChoice(check_key(configured), generated=False)
    if host is None or host in LOCAL_HOSTS:
        return KeyChoice(random_key, generated=True)
    raise InsecureSecretKey(
        f"LEADLOOP_SECRET_KEY is not set, and the server would listen on {host}, beyond this "
        f"machine. Make a key with {HOW_TO_MAKE_ONE} and set LEADLOOP_SECRET_KEY to it "
        "(keep it the same across restarts and workers), or listen on 127.0.0.1."
    )
