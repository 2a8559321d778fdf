"""Users and API keys: create, authenticate."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from leadloop.auth import audit
from leadloop.auth.model import Principal, Role, key_matches, new_api_key, split_token
from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.store.tables import ApiKey, User

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of both paths alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD = 8


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
    now: datetime,
    team_id: int | None = None,
    partner_id: int | None = None,
) -> int:
    try:
        address = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"e-mail {email!r} is not valid: {exc}") from None
    try:
        role_value = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; roles are {', '.join(r.value for r in Role)}") from None
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters")
    if session.scalar(sa.select(User.id).where(User.email == address)) is not None:
        raise Conflict(f"a user with e-mail {address} already exists")
    uid = session.scalar(
        sa.insert(User)
        .returning(User.id)
        .values(
            email=address,
            name=name,
            role=role_value.value,
            active=True,
            created_at=now,
            password_hash=_hasher.hash(password) if password else None,
            team_id=team_id,
            partner_id=partner_id,
        )
    )
    assert uid is not None
    return int(uid)


def _principal(user: User, via: str) -> Principal:
    return Principal(user.id, user.email, user.name, Role(user.role), via)


def authenticate(session: Session, email: str, password: str) -> Principal | None:
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user is not None and user.active and user.password_hash else _DUMMY_HASH
    try:
        ok: bool = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active or not user.password_hash:
        return None
    return _principal(user, "session")


def principal_for_user(session: Session, user_id: int) -> Principal | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return _principal(user, "session")


def create_api_key(session: Session, *, user_email: str, name: str, now: datetime) -> str:
    user = session.scalar(sa.select(User).where(User.email == user_email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail {user_email}")
    key = new_api_key()
    session.add(ApiKey(user_id=user.id, name=name, prefix=key.prefix, key_hash=key.hash, created_at=now))
    audit.record(
        session, "api_key.created", at=now, subject=user.email, detail={"name": name, "prefix": key.prefix}
    )
    return key.token


def principal_for_api_key(session: Session, token: str) -> Principal | None:
    parts = split_token(token)
    if parts is None:
        return None
    prefix, secret = parts
    row = session.execute(
        sa.select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        return None
    key, user = row
    if key.revoked_at is not None or not user.active or not key_matches(key.key_hash, prefix, secret):
        return None
    return _principal(user, "api_key")
