"""`request.session`, kept in the database. The cookie is an opaque random token: it carries no
user id and no CSRF token, and ending the row (sign-out, password change, deactivation) ends it.

Routes use `request.session` as with Starlette's signed-cookie middleware, but it holds two keys
only: "uid" (who signed in) and "csrf". A change of "uid" (sign-in) always gets a new token, so a
token planted before sign-in is worth nothing after it (session fixation)."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadloop.auth import sessions
from leadloop.auth.model import SessionPolicy
from leadloop.core.clock import Clock
from leadloop.store.db import Database

COOKIE = "leadloop_session"
KEYS = ("uid", "csrf")


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool
    max_age_s: int


class ServerSessions:
    def __init__(
        self,
        app: ASGIApp,
        *,
        db: Database,
        clock: Clock,
        secret_key: str,
        policy: SessionPolicy,
        cookie: CookiePolicy,
    ) -> None:
        self.app = app
        self.db = db
        self.clock = clock
        self.secret_key = secret_key
        self.policy = policy
        self.cookie = cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, COOKIE)
        found = await anyio.to_thread.run_sync(self._load, token) if token else None
        data: dict[str, Any] = {}
        if found is not None:
            data = {"csrf": found.csrf} | ({"uid": found.user_id} if found.user_id is not None else {})
        scope["session"] = data
        before = dict(data)

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                after = {k: v for k, v in scope["session"].items() if k in KEYS}
                headers = MutableHeaders(scope=message)
                if after != before:
                    new_token = await anyio.to_thread.run_sync(self._save, found, after, scope)
                    if new_token:
                        headers.append("set-cookie", self._set_cookie(new_token))
                    elif new_token == "":
                        headers.append("set-cookie", self._set_cookie("", max_age=0))
                elif token and found is None:
                    headers.append("set-cookie", self._set_cookie("", max_age=0))  # a dead cookie
            await send(message)

        await self.app(scope, receive, send_wrapped)

    def _load(self, token: str) -> sessions.Found | None:
        now = self.clock()
        with self.db.read() as session:
            hit = sessions.find(session, secret_key=self.secret_key, policy=self.policy, token=token, now=now)
        if hit is None:
            return None
        found, due = hit
        if due:
            with self.db.write() as session:
                sessions.touch(session, key=found.key, policy=self.policy, now=now)
        return found

    def _save(self, found: sessions.Found | None, after: dict[str, Any], scope: Scope) -> str | None:
        """Write what the request changed. Returns a new token for the cookie, "" to clear the
        cookie, or None to leave it."""
        now = self.clock()
        with self.db.write() as session:
            if not after:
                if found is not None:
                    sessions.end(session, key=found.key)
                return ""
            uid = after.get("uid")
            if found is not None and found.user_id == uid:
                sessions.set_csrf(session, key=found.key, csrf=str(after.get("csrf", found.csrf)))
                return None
            if found is not None:
                sessions.end(session, key=found.key)
            client = scope.get("client")
            return sessions.start(
                session,
                secret_key=self.secret_key,
                policy=self.policy,
                user_id=int(uid) if uid is not None else None,
                csrf=str(after.get("csrf") or ""),
                now=now,
                user_agent=_header(scope, b"user-agent"),
                ip=client[0] if client else None,
            )

    def _set_cookie(self, value: str, *, max_age: int | None = None) -> str:
        parts = [
            f"{COOKIE}={value}",
            "Path=/",
            f"Max-Age={self.cookie.max_age_s if max_age is None else max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if self.cookie.secure:
            parts.append("Secure")
        return "; ".join(parts)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:  # a malformed Cookie header is an anonymous visitor, not a 500
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None
