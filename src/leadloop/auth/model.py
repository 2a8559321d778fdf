"""Who may do what. Pure: roles, principals and the key format."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MARKETING = "marketing"
    MANAGER = "manager"
    REP = "rep"
    PARTNER = "partner"


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.MARKETING, Role.MANAGER, Role.REP})
WRITERS = frozenset({Role.ADMIN, Role.MARKETING})  # may load data into the warehouse
ADMINS = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})  # sales management: routing rules, team view
PARTNERS = frozenset({Role.PARTNER})  # the partner portal: only their organisation's leads


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    name: str
    role: Role
    via: str  # "session" | "api_key"

    def may(self, roles: frozenset[Role]) -> bool:
        return self.role in roles


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
