"""Users and API keys: create, authenticate."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from leadloop.auth import audit, sessions
from leadloop.auth.model import (
    KeyScope,
    Principal,
    Role,
    check_password,
    key_matches,
    new_api_key,
    split_token,
)
from leadloop.core.errors import Conflict, InvalidInput, NotFound
from leadloop.store.tables import ApiKey, User

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the timing of both paths alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    if password is not None:
        check_password(password, email=address)
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
    return Principal(user.id, user.email, user.name, Role(user.role), via, user.must_change_password)


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


def create_api_key(
    session: Session,
    *,
    user_email: str,
    name: str,
    now: datetime,
    scope: str = KeyScope.FULL,
    by_user_id: int | None = None,
) -> str:
    user = session.scalar(sa.select(User).where(User.email == user_email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail {user_email}")
    if scope not in set(KeyScope):
        raise InvalidInput(f"scope must be one of: {', '.join(KeyScope)}; got {scope!r}")
    key = new_api_key()
    session.add(
        ApiKey(user_id=user.id, name=name, prefix=key.prefix, key_hash=key.hash, created_at=now, scope=scope)
    )
    audit.record(
        session,
        "api_key.created",
        at=now,
        actor_user_id=by_user_id,
        subject=user.email,
        detail={"name": name, "prefix": key.prefix, "scope": str(scope)},
    )
    return key.token


def touch_api_key(session: Session, token: str, *, now: datetime) -> None:
    """Record when a key was last used, at most once a minute (a write per request would queue every
    API call behind SQLite's one writer)."""
    parts = split_token(token)
    if parts is not None:
        session.execute(
            sa.update(ApiKey)
            .where(
                ApiKey.prefix == parts[0],
                sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - timedelta(minutes=1)),
            )
            .values(last_used_at=now)
        )


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
    return replace(_principal(user, "api_key"), key_scope=key.scope)


def reset_password(
    session: Session, *, email: str, new_password: str, now: datetime, by_user_id: int | None = None
) -> None:
    """An admin sets a user's password: the user must choose their own at the next sign-in, and
    every browser they were signed in on is signed out."""
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail {email}")
    user.password_hash = _hasher.hash(check_password(new_password, email=user.email))
    user.must_change_password = True
    ended = sessions.end_all_for(session, user.id)
    audit.record(
        session,
        "user.password_reset",
        at=now,
        actor_user_id=by_user_id,
        subject=user.email,
        detail={"sessions_ended": ended},
    )


def change_password(session: Session, *, user_id: int, current: str, new: str, now: datetime) -> None:
    """A user chooses their own password; every session of theirs ends (this one too: they sign in
    again with the new password)."""
    user = session.get(User, user_id)
    if user is None or not user.active or not user.password_hash:
        raise NotFound("there is no such active user")
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput("the current password is not right") from None
    if new == current:
        raise InvalidInput("the new password must differ from the current one")
    user.password_hash = _hasher.hash(check_password(new, email=user.email))
    user.must_change_password = False
    sessions.end_all_for(session, user.id)
    audit.record(session, "user.password_changed", at=now, actor_user_id=user.id, subject=user.email)


def set_role(
    session: Session, *, email: str, role: str, now: datetime, by_user_id: int | None = None
) -> None:
    user = session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail {email}")
    try:
        new = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; roles are {', '.join(r.value for r in Role)}") from None
    old, user.role = user.role, new.value
    audit.record(
        session,
        "user.role_changed",
        at=now,
        actor_user_id=by_user_id,
        subject=user.email,
        detail={"from": old, "to": new.value},
    )


# Edit and reassign (issue 13, item 4): the admin pages' user and key actions (the CLI's too).


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    now: datetime,
    by_user_id: int | None,
    team_id: int | None = None,
) -> tuple[int, str]:
    """An admin creates a user with a temporary password, shown once: they choose their own at the
    first sign-in. Returns the id and that password."""
    temporary = temporary_password()
    clean = " ".join(name.split())
    if not clean or len(clean) > 200:
        raise InvalidInput("name: give the user's name (1 to 200 characters)")
    uid = create_user(
        session, email=email, name=clean, role=role, password=temporary, now=now, team_id=team_id
    )
    user = session.get_one(User, uid)
    user.must_change_password = True
    audit.record(
        session,
        "user.created",
        at=now,
        actor_user_id=by_user_id,
        subject=user.email,
        detail={"role": user.role},
    )
    return uid, temporary


def temporary_password() -> str:
    """Sixteen random URL-safe characters: strong, and typed once."""
    return secrets.token_urlsafe(12)


def deactivated(session: Session, user_id: int, *, now: datetime, by_user_id: int | None, via: str) -> None:
    """After routing re-routed a leaver's leads: every browser they are signed in on is signed out,
    their API keys stop working (the key check refuses inactive users), and the audit log says so."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user #{user_id}")
    ended = sessions.end_all_for(session, user.id)
    audit.record(
        session,
        "user.deactivated",
        at=now,
        actor_user_id=by_user_id,
        subject=user.email,
        detail={"via": via, "sessions_ended": ended},
    )


def revoke_api_key(session: Session, key_id: int, *, now: datetime, by_user_id: int | None) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"there is no API key #{key_id}")
    if key.revoked_at is None:
        key.revoked_at = now
        owner = session.get(User, key.user_id)
        audit.record(
            session,
            "api_key.revoked",
            at=now,
            actor_user_id=by_user_id,
            subject=owner.email if owner else None,
            detail={"name": key.name, "prefix": key.prefix},
        )
    return key
